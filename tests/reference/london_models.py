"""PyTorch restatement of the CIFAR-100 networks that LONDON's official code distils (42Shawn/LONDON, CIFAR-100/models
at commit bac21e8; the models are unchanged in the newest commit with code, 971f332): the wide ResNet of WideResNet.py,
the PyramidNet of PyramidNet.py and the ResNet of ResNet.py, with the attribute names of those files (so their
state_dict keys are the official checkpoints' keys), their forward pass, their extract_feature(x, preReLU) lists,
get_bn_before_relu and get_channel_num. Written for DistillSharp's tests from the architecture as those files define
it; the C# zoo is checked against what these produce. Only definitions here; london_models_reference.py runs them.

Every network has
    forward(x)                  the logits
    extract(x, pre)             ([feat1, feat2, feat3], logits): extract_feature(x, preReLU=pre)
    bn_before_relu()            module paths of get_bn_before_relu()
    channel_num()               get_channel_num()
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def fan_out_normal_(model, zero_linear_bias):
    """The init loop of the three files: conv ~ N(0, 2 / (k_h k_w out)), BN weight 1 bias 0; WideResNet.py also zeroes
    the linear bias, PyramidNet.py and ResNet.py leave nn.Linear at PyTorch's default."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.data.normal_(0.0, (2.0 / fan) ** 0.5)
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()
        elif isinstance(m, nn.Linear) and zero_linear_bias:
            m.bias.data.zero_()


def module_path(root, target):
    for name, m in root.named_modules():
        if m is target:
            return name
    raise KeyError(target)


# ---------------- WideResNet.py: depth 6n+4, widths 16, 16k, 32k, 64k, pre-activation blocks ----------------
class LondonWideBlock(nn.Module):
    """BN-ReLU-conv3x3(stride)-BN-ReLU-conv3x3. When the width changes the shortcut is the 1x1 convShortcut of the
    activated input, otherwise the raw input. (Dropout: rate 0 in every setting, so none.)"""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.same_width = cin == cout
        self.convShortcut = None if self.same_width else nn.Conv2d(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        y = self.conv2(F.relu(self.bn2(self.conv1(a))))
        return y + (x if self.same_width else self.convShortcut(a))


class LondonWideGroup(nn.Module):
    def __init__(self, count, cin, cout, stride):
        super().__init__()
        self.layer = nn.Sequential(*[LondonWideBlock(cin if j == 0 else cout, cout, stride if j == 0 else 1)
                                     for j in range(count)])

    def forward(self, x):
        return self.layer(x)


class LondonWideResNet(nn.Module):
    def __init__(self, depth, k, num_classes):
        super().__init__()
        assert (depth - 4) % 6 == 0
        n = (depth - 4) // 6
        self.widths = [16, 16 * k, 32 * k, 64 * k]
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.block1 = LondonWideGroup(n, 16, self.widths[1], 1)
        self.block2 = LondonWideGroup(n, self.widths[1], self.widths[2], 2)
        self.block3 = LondonWideGroup(n, self.widths[2], self.widths[3], 2)
        self.bn1 = nn.BatchNorm2d(self.widths[3])
        self.fc = nn.Linear(self.widths[3], num_classes)
        fan_out_normal_(self, zero_linear_bias=True)

    def extract(self, x, pre):
        f1 = self.block1(self.conv1(x))
        f2 = self.block2(f1)
        f3 = self.block3(f2)
        logits = self.fc(F.avg_pool2d(F.relu(self.bn1(f3)), 8).flatten(1))
        if pre:
            f1, f2, f3 = self.block2.layer[0].bn1(f1), self.block3.layer[0].bn1(f2), self.bn1(f3)
        return [f1, f2, f3], logits

    def forward(self, x):
        return self.extract(x, False)[1]

    def bn_before_relu(self):
        return ["block2.layer.0.bn1", "block3.layer.0.bn1", "bn1"]

    def channel_num(self):
        return self.widths[1:]


# ---------------- PyramidNet.py: widths growing by alpha / (3n) per block, zero-padded identity shortcuts --------
def pyramid_plan(depth, alpha, bottleneck):
    """[(input channels, planes, stride)] per block in order, and the final width. The running width starts at 16
    and grows by alpha / (3n) (a float, accumulated block by block); a block has round(width) planes (Python's
    round) and puts out planes (basic) or 4 planes (bottleneck) channels; n = (depth - 2) / 9 with bottlenecks,
    (depth - 2) / 6 without."""
    n = int((depth - 2) / 9) if bottleneck else int((depth - 2) / 6)
    ratio = 4 if bottleneck else 1
    step = alpha / (3 * n * 1.0)
    width, cin, blocks = 16, 16, []
    for stage in range(3):
        for j in range(n):
            width = width + step
            planes = int(round(width))
            blocks.append((cin, planes, 2 if stage > 0 and j == 0 else 1))
            cin = planes * ratio
    return n, blocks, cin


def pad_channels(shortcut, channels):
    """The shortcut with zero channels appended up to `channels`."""
    extra = channels - shortcut.shape[1]
    if extra == 0:
        return shortcut
    zeros = shortcut.new_zeros(shortcut.shape[0], extra, shortcut.shape[2], shortcut.shape[3])
    return torch.cat([shortcut, zeros], 1)


class LondonPyramidBasic(nn.Module):
    """BN - conv3x3(stride) - BN - ReLU - conv3x3 - BN, plus the shortcut (2x2 average pool at stride 2), zero-padded."""
    ratio = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.stride = stride

    def forward(self, x):
        y = self.bn3(self.conv2(F.relu(self.bn2(self.conv1(self.bn1(x))))))
        s = F.avg_pool2d(x, 2, 2, ceil_mode=True) if self.stride != 1 else x
        return y + pad_channels(s, y.shape[1])


class LondonPyramidBottleneck(nn.Module):
    """BN - conv1x1 - BN - ReLU - conv3x3(stride) - BN - ReLU - conv1x1 (4 planes) - BN, plus the padded shortcut."""
    ratio = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn4 = nn.BatchNorm2d(planes * 4)
        self.stride = stride

    def forward(self, x):
        y = F.relu(self.bn2(self.conv1(self.bn1(x))))
        y = F.relu(self.bn3(self.conv2(y)))
        y = self.bn4(self.conv3(y))
        s = F.avg_pool2d(x, 2, 2, ceil_mode=True) if self.stride != 1 else x
        return y + pad_channels(s, y.shape[1])


class LondonPyramidNet(nn.Module):
    def __init__(self, depth, alpha, num_classes, bottleneck, in_channels=3):
        super().__init__()
        block = LondonPyramidBottleneck if bottleneck else LondonPyramidBasic
        n, plan, final = pyramid_plan(depth, alpha, bottleneck)
        self.bottleneck = bottleneck
        self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        for s in range(3):
            setattr(self, f"layer{s + 1}", nn.Sequential(*[block(*plan[s * n + j]) for j in range(n)]))
        self.final_width = final
        self.bn_final = nn.BatchNorm2d(final)
        self.fc = nn.Linear(final, num_classes)
        fan_out_normal_(self, zero_linear_bias=False)

    def stem(self, x):
        return self.bn1(self.conv1(x))

    def inner(self, f, layer):
        """The preReLU form of a stage output: inside the next stage's first block, the input of its first ReLU
        (bottleneck: bn2(conv1(bn1(f)))) or its bn1 output (basic, where no ReLU follows it)."""
        b = layer[0]
        return b.bn2(b.conv1(b.bn1(f))) if self.bottleneck else b.bn1(f)

    def extract(self, x, pre):
        f1 = self.layer1(self.stem(x))
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        logits = self.fc(F.avg_pool2d(F.relu(self.bn_final(f3)), 8).flatten(1))
        if pre:
            f1, f2, f3 = self.inner(f1, self.layer2), self.inner(f2, self.layer3), self.bn_final(f3)
        return [f1, f2, f3], logits

    def forward(self, x):
        return self.extract(x, False)[1]

    def bn_before_relu(self):
        # The official list, for both block kinds: the second batch norm of the first block of stages 2 and 3.
        return ["layer2.0.bn2", "layer3.0.bn2", "bn_final"]

    def channel_num(self):
        if self.bottleneck:
            return [self.layer2[0].conv1.out_channels, self.layer3[0].conv1.out_channels, self.final_width]
        return [self.layer2[0].conv1.in_channels, self.layer3[0].conv1.in_channels, self.final_width]


# ---------------- ResNet.py: CIFAR ResNet 6n+2 whose blocks apply the ReLU at their input ----------------
class LondonResBasic(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        needs = stride != 1 or cin != planes
        self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride=stride, bias=False),
                                        nn.BatchNorm2d(planes)) if needs else None

    def forward(self, x):
        a = F.relu(x)   # the ReLU of the previous block (or of the stem) is taken here; the output is the sum
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(a)))))
        return y + (a if self.downsample is None else self.downsample(a))


class LondonResNet(nn.Module):
    def __init__(self, depth, num_classes):
        super().__init__()
        n = int((depth - 2) / 6)
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for s, (planes, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
            blocks = []
            for j in range(n):
                blocks.append(LondonResBasic(cin, planes, stride if j == 0 else 1))
                cin = planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)
        fan_out_normal_(self, zero_linear_bias=False)

    def extract(self, x, pre):
        f1 = self.layer1(self.bn1(self.conv1(x)))
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        logits = self.fc(F.avg_pool2d(F.relu(f3), 8).flatten(1))
        if not pre:
            f1, f2, f3 = F.relu(f1), F.relu(f2), F.relu(f3)
        return [f1, f2, f3], logits

    def forward(self, x):
        return self.extract(x, False)[1]

    def bn_before_relu(self):
        return [f"layer{s}.{len(getattr(self, f'layer{s}')) - 1}.bn2" for s in (1, 2, 3)]

    def channel_num(self):
        return [16, 32, 64]


# The zoo names of the networks of the official CIFAR-100 settings (load_settings.py at bac21e8).
OFFICIAL = {
    "wrn_28_4": lambda nc: LondonWideResNet(28, 4, nc),            # teacher of settings a, b, c, d; student of e
    "wrn_16_4": lambda nc: LondonWideResNet(16, 4, nc),            # student of a, b
    "wrn_16_2": lambda nc: LondonWideResNet(16, 2, nc),            # student of c
    "resnet56": lambda nc: LondonResNet(56, nc),                   # student of d
    "pyramidnet200_a240": lambda nc: LondonPyramidNet(200, 240, nc, bottleneck=True),   # teacher of e, f
    "pyramidnet110_a84": lambda nc: LondonPyramidNet(110, 84, nc, bottleneck=False),    # student of f
}
