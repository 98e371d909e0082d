#!/usr/bin/python3
"""Golden values for the DistillSharp model zoo, from an independent PyTorch transcription.

The networks below restate, in PyTorch, the CIFAR definitions of RepDistiller (models/resnet.py,
resnetv2.py, wrn.py, vgg.py, mobilenetv2.py, ShuffleNetv1.py, ShuffleNetv2.py), the PyramidNets of LONDON's
official CIFAR-100 code (london_models.py, in the zoo's feature convention) and the torchvision
layout of the ImageNet ResNets. They were written for this project from the published architecture
descriptions; the C# zoo is checked against what they produce.

Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/zoo_reference.py

It writes tests/reference/golden/zoo.json holding, per model (100 classes, 3 input channels):
  params              number of parameters
  state_dict          ordered [key, shape] pairs of the state dict
  classifier          module path of the final linear layer
  bn_before_relu      module paths returned by get_bn_before_relu (null where the reference raises)
  feature_channels    channels of each entry of the feature list
  shapes              feature / pre-activation / logit shapes for the input shape given there
  macs                multiply-accumulates of Conv2d and Linear layers for one image of shapes.input size
  fill                logits (computed in float64) and feature sums (float32) of the model after the
                      "formula fill" (see formula_fill), for two formula images (64x64 for ImageNet)

If torchvision is installed, the ImageNet ResNets are also checked key for key and value for value
against torchvision's own definitions.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from london_models import LondonPyramidNet  # noqa: E402

# ----------------------------------------------------------------------------------------------
# Residual blocks shared by the three ResNet families. The attribute that holds the projection
# shortcut is called "downsample" in resnet.py and torchvision, "shortcut" in resnetv2.py.
# Each block returns (output after the final ReLU, the sum before it).
# ----------------------------------------------------------------------------------------------


def projection(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, shortcut_name):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.short_name = shortcut_name
        needs = stride != 1 or cin != planes
        setattr(self, shortcut_name, projection(cin, planes, stride) if needs else None)
        self.last_bn = "bn2"

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        sc = getattr(self, self.short_name)
        pre = y + (x if sc is None else sc(x))
        return F.relu(pre), pre


class Bottle(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, shortcut_name):
        super().__init__()
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.short_name = shortcut_name
        needs = stride != 1 or cin != cout
        setattr(self, shortcut_name, projection(cin, cout, stride) if needs else None)
        self.last_bn = "bn3"

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        sc = getattr(self, self.short_name)
        pre = y + (x if sc is None else sc(x))
        return F.relu(pre), pre


def make_stage(block, cin, planes, count, stride, shortcut_name):
    blocks = []
    for j in range(count):
        blocks.append(block(cin, planes, stride if j == 0 else 1, shortcut_name))
        cin = planes * block.expansion
    return nn.Sequential(*blocks), cin


def run_stage(stage, x):
    pre = None
    for blk in stage:
        x, pre = blk(x)
    return x, pre


def init_resnet(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def init_fan_out_normal(model, linear_std=None):
    """wrn / vgg / mobilenetv2 style: conv ~ N(0, 2/(k*k*out)), BN 1/0, linear bias 0
    (and linear weight ~ N(0, linear_std) when given)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if linear_std is not None:
                nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)


class Zoo(nn.Module):
    """Common output: (features, preact_features, logits)."""
    classifier_path = None

    def bn_before_relu(self):
        return None


# ---------------- RepDistiller resnet.py (CIFAR, 6n+2, BasicBlock only) ----------------
class CifarResNet(Zoo):
    classifier_path = "fc"

    def __init__(self, depth, widths, nc, cin=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(cin, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        c = widths[0]
        self.layer1, c = make_stage(Basic, c, widths[1], n, 1, "downsample")
        self.layer2, c = make_stage(Basic, c, widths[2], n, 2, "downsample")
        self.layer3, c = make_stage(Basic, c, widths[3], n, 2, "downsample")
        self.fc = nn.Linear(c, nc)
        self.channels = [widths[0], widths[1], widths[2], widths[3], widths[3]]
        init_resnet(self)

    def bn_before_relu(self):
        return [f"layer{s}.{len(getattr(self, f'layer{s}')) - 1}.bn2" for s in (1, 2, 3)]

    def forward(self, x):
        f0 = F.relu(self.bn1(self.conv1(x)))
        f1, p1 = run_stage(self.layer1, f0)
        f2, p2 = run_stage(self.layer2, f1)
        f3, p3 = run_stage(self.layer3, f2)
        pooled = F.avg_pool2d(f3, 8).flatten(1)
        return [f0, f1, f2, f3, pooled], [f0, p1, p2, p3, pooled], self.fc(pooled)


# ---------------- RepDistiller resnetv2.py (CIFAR ResNet18/34/50) ----------------
class ResNetV2(Zoo):
    classifier_path = "linear"

    def __init__(self, block, counts, nc, cin=3):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        c = 64
        self.layer1, c = make_stage(block, c, 64, counts[0], 1, "shortcut")
        self.layer2, c = make_stage(block, c, 128, counts[1], 2, "shortcut")
        self.layer3, c = make_stage(block, c, 256, counts[2], 2, "shortcut")
        self.layer4, c = make_stage(block, c, 512, counts[3], 2, "shortcut")
        self.linear = nn.Linear(c, nc)
        e = block.expansion
        self.channels = [64, 64 * e, 128 * e, 256 * e, 512 * e, 512 * e]
        self.last_bn = "bn2" if block is Basic else "bn3"
        init_resnet(self)

    def bn_before_relu(self):
        return [f"layer{s}.{len(getattr(self, f'layer{s}')) - 1}.{self.last_bn}" for s in (1, 2, 3, 4)]

    def forward(self, x):
        f0 = F.relu(self.bn1(self.conv1(x)))
        f1, p1 = run_stage(self.layer1, f0)
        f2, p2 = run_stage(self.layer2, f1)
        f3, p3 = run_stage(self.layer3, f2)
        f4, p4 = run_stage(self.layer4, f3)
        pooled = F.adaptive_avg_pool2d(f4, 1).flatten(1)
        return [f0, f1, f2, f3, f4, pooled], [f0, p1, p2, p3, p4, pooled], self.linear(pooled)


# ---------------- torchvision ResNet (ImageNet layout) ----------------
class ImageNetResNet(Zoo):
    """Feature convention (mdistiller's ImageNet ResNet): the stem entry is taken after bn1 (+ReLU),
    before the max pool; its pre-activation form is the bn1 output."""
    classifier_path = "fc"

    def __init__(self, block, counts, nc, cin=3):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        c = 64
        self.layer1, c = make_stage(block, c, 64, counts[0], 1, "downsample")
        self.layer2, c = make_stage(block, c, 128, counts[1], 2, "downsample")
        self.layer3, c = make_stage(block, c, 256, counts[2], 2, "downsample")
        self.layer4, c = make_stage(block, c, 512, counts[3], 2, "downsample")
        self.fc = nn.Linear(c, nc)
        e = block.expansion
        self.channels = [64, 64 * e, 128 * e, 256 * e, 512 * e, 512 * e]
        self.last_bn = "bn2" if block is Basic else "bn3"
        init_resnet(self)

    def bn_before_relu(self):
        return [f"layer{s}.{len(getattr(self, f'layer{s}')) - 1}.{self.last_bn}" for s in (1, 2, 3, 4)]

    def forward(self, x):
        s_pre = self.bn1(self.conv1(x))
        s = F.relu(s_pre)
        y = F.max_pool2d(s, 3, stride=2, padding=1)
        f1, p1 = run_stage(self.layer1, y)
        f2, p2 = run_stage(self.layer2, f1)
        f3, p3 = run_stage(self.layer3, f2)
        f4, p4 = run_stage(self.layer4, f3)
        pooled = F.adaptive_avg_pool2d(f4, 1).flatten(1)
        return [s, f1, f2, f3, f4, pooled], [s_pre, p1, p2, p3, p4, pooled], self.fc(pooled)


# ---------------- RepDistiller wrn.py (pre-activation wide ResNet) ----------------
class WideBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.same = cin == cout
        if not self.same:
            self.convShortcut = nn.Conv2d(cin, cout, 1, stride=stride, padding=0, bias=False)

    def forward(self, x):
        # returns (output, bn1(x)): the second is the pre-activation the reference's preact list uses
        b = self.bn1(x)
        a = F.relu(b)
        y = F.relu(self.bn2(self.conv1(a)))
        y = self.conv2(y)
        skip = x if self.same else self.convShortcut(a)
        return skip + y, b


class WideGroup(nn.Module):
    def __init__(self, count, cin, cout, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WideBlock(cin if j == 0 else cout, cout, stride if j == 0 else 1)
                                     for j in range(count)])

    def forward(self, x):
        first_bn = None
        for j, blk in enumerate(self.layer):
            x, b = blk(x)
            if j == 0:
                first_bn = b
        return x, first_bn


class WideResNet(Zoo):
    classifier_path = "fc"

    def __init__(self, depth, k, nc, cin=3):
        super().__init__()
        ch = [16, 16 * k, 32 * k, 64 * k]
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(cin, ch[0], 3, stride=1, padding=1, bias=False)
        self.block1 = WideGroup(n, ch[0], ch[1], 1)
        self.block2 = WideGroup(n, ch[1], ch[2], 2)
        self.block3 = WideGroup(n, ch[2], ch[3], 2)
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.fc = nn.Linear(ch[3], nc)
        self.channels = [ch[0], ch[1], ch[2], ch[3], ch[3]]
        init_fan_out_normal(self)

    def bn_before_relu(self):
        return ["block2.layer.0.bn1", "block3.layer.0.bn1", "bn1"]

    def forward(self, x):
        f0 = self.conv1(x)
        f1, _ = self.block1(f0)
        f2, p1 = self.block2(f1)   # p1 = block2.layer[0].bn1(f1)
        f3, p2 = self.block3(f2)   # p2 = block3.layer[0].bn1(f2)
        p3 = self.bn1(f3)
        pooled = F.avg_pool2d(F.relu(p3), 8).flatten(1)
        return [f0, f1, f2, f3, pooled], [f0, p1, p2, p3, pooled], self.fc(pooled)


# ---------------- PyramidNet of LONDON's official CIFAR-100 code (london_models.py), in the zoo's convention ----------
class PyramidNet(LondonPyramidNet, Zoo):
    """london_models.LondonPyramidNet with the zoo's lists: features [stem = bn1(conv1(x)) (no ReLU in this stem),
    layer1, layer2, layer3, pooled]; preact [stem, the official preReLU features of stages 1-3, pooled]. The batch
    norms before ReLU follow the preact features: the official list (layer2.0.bn2, layer3.0.bn2, bn_final) with
    bottlenecks; with basic blocks, whose preReLU features are the layer2.0.bn1 and layer3.0.bn1 outputs (the
    official list's bn2 has other channels there), those two and bn_final."""
    classifier_path = "fc"

    def __init__(self, depth, alpha, bottleneck, nc, cin=3):
        super().__init__(depth, alpha, nc, bottleneck, in_channels=cin)
        last = (lambda layer: layer[-1].bn4) if bottleneck else (lambda layer: layer[-1].bn3)
        self.channels = [16] + [last(layer).num_features for layer in (self.layer1, self.layer2, self.layer3)] + [self.final_width]

    def bn_before_relu(self):
        if self.bottleneck:
            return ["layer2.0.bn2", "layer3.0.bn2", "bn_final"]
        return ["layer2.0.bn1", "layer3.0.bn1", "bn_final"]

    def forward(self, x):
        # The preact entries of stages 1 and 2 are read from the forward pass (forward hooks on the batch norms that
        # make them), where the official extract_feature computes them a second time: the same values and gradients,
        # and the multiply-accumulates of one forward pass.
        seen = {}
        norms = [self.layer2[0].bn2, self.layer3[0].bn2] if self.bottleneck else [self.layer2[0].bn1, self.layer3[0].bn1]
        hooks = [bn.register_forward_hook(lambda m, i, o, k=k: seen.setdefault(k, o)) for k, bn in enumerate(norms)]
        try:
            f0 = self.stem(x)
            f1 = self.layer1(f0)
            f2 = self.layer2(f1)
            f3 = self.layer3(f2)
        finally:
            for h in hooks:
                h.remove()
        p3 = self.bn_final(f3)
        pooled = F.avg_pool2d(F.relu(p3), 8).flatten(1)
        return [f0, f1, f2, f3, pooled], [f0, seen[0], seen[1], p3, pooled], self.fc(pooled)


# ---------------- RepDistiller vgg.py (with BatchNorm) ----------------
VGG_CFG = {
    "vgg8": [[64], [128], [256], [512], [512]],
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "vgg16": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "vgg19": [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
}


class Vgg(Zoo):
    classifier_path = "classifier"

    def __init__(self, cfg, nc, cin=3):
        super().__init__()
        c = cin
        for b, widths in enumerate(cfg):
            mods = []
            for w in widths:
                mods += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
                c = w
            setattr(self, f"block{b}", nn.Sequential(*mods[:-1]))  # each block ends on its BN
        self.classifier = nn.Linear(512, nc)
        self.channels = [cfg[0][-1], cfg[1][-1], cfg[2][-1], cfg[3][-1], cfg[4][-1], 512]
        self.depths = [len(w) for w in cfg]
        init_fan_out_normal(self, linear_std=0.01)

    def bn_before_relu(self):
        return [f"block{b}.{3 * self.depths[b] - 2}" for b in (1, 2, 3, 4)]

    def forward(self, x):
        h = x.shape[2]
        f0 = F.relu(self.block0(x))
        p1 = self.block1(F.max_pool2d(f0, 2, 2))
        f1 = F.relu(p1)
        p2 = self.block2(F.max_pool2d(f1, 2, 2))
        f2 = F.relu(p2)
        p3 = self.block3(F.max_pool2d(f2, 2, 2))
        f3 = F.relu(p3)
        y = F.max_pool2d(f3, 2, 2) if h == 64 else f3
        p4 = self.block4(y)
        f4 = F.relu(p4)
        pooled = F.adaptive_avg_pool2d(f4, 1).flatten(1)
        return [f0, f1, f2, f3, f4, pooled], [f0, p1, p2, p3, p4, pooled], self.classifier(pooled)


# ---------------- RepDistiller mobilenetv2.py (mobile_half: expansion 6, width 0.5) ----------------
class InvRes(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        mid = cin * t
        self.residual = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, mid, 1, 1, 0, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(Zoo):
    classifier_path = "classifier.0"

    def __init__(self, nc, cin=3, t=6, width=0.5):
        super().__init__()
        setting = [(1, 16, 1, 1), (t, 24, 2, 1), (t, 32, 3, 2), (t, 64, 4, 2),
                   (t, 96, 3, 1), (t, 160, 3, 2), (t, 320, 1, 1)]
        c = int(32 * width)
        self.conv1 = nn.Sequential(nn.Conv2d(cin, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.blocks = nn.ModuleList()
        outs = []
        for e, ch, n, s in setting:
            o = int(ch * width)
            seq = []
            for j in range(n):
                seq.append(InvRes(c, o, s if j == 0 else 1, e))
                c = o
            self.blocks.append(nn.Sequential(*seq))
            outs.append(o)
        last = int(1280 * width) if width > 1.0 else 1280
        self.conv2 = nn.Sequential(nn.Conv2d(c, last, 1, 1, 0, bias=False), nn.BatchNorm2d(last), nn.ReLU())
        self.classifier = nn.Sequential(nn.Linear(last, nc))
        self.channels = [int(32 * width), outs[1], outs[2], outs[4], outs[6], last]
        self.counts = [n for _, _, n, _ in setting]
        init_fan_out_normal(self, linear_std=0.01)

    def bn_before_relu(self):
        return [f"blocks.{i}.{self.counts[i] - 1}.conv.7" for i in (1, 2, 4, 6)]

    def forward(self, x):
        f0 = self.conv1(x)
        y = self.blocks[1](self.blocks[0](f0))
        f1 = y
        f2 = self.blocks[2](f1)
        f3 = self.blocks[4](self.blocks[3](f2))
        f4 = self.blocks[6](self.blocks[5](f3))
        y = self.conv2(f4)
        pooled = F.avg_pool2d(y, 2, ceil_mode=True).flatten(1)   # input_size 32 -> kernel 32 // 16
        feats = [f0, f1, f2, f3, f4, pooled]
        return feats, list(feats), self.classifier(pooled)


# ---------------- RepDistiller ShuffleNetv1.py ----------------
def channel_shuffle(x, g):
    n, c, h, w = x.shape
    return x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnitV1(nn.Module):
    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        mid = cout // 4
        g1 = 1 if cin == 24 else groups
        self.g1 = g1
        self.stride = stride
        self.conv1 = nn.Conv2d(cin, mid, 1, groups=g1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = channel_shuffle(y, self.g1)
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        if self.stride == 2:
            pre = torch.cat([y, F.avg_pool2d(x, 3, stride=2, padding=1)], 1)
        else:
            pre = y + x
        return F.relu(pre), pre


class ShuffleV1(Zoo):
    classifier_path = "linear"

    def __init__(self, nc, cin=3):
        super().__init__()
        widths, counts, groups = [240, 480, 960], [4, 8, 4], 3
        self.conv1 = nn.Conv2d(cin, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        c = 24
        for s in range(3):
            units = []
            for j in range(counts[s]):
                # the first unit of a stage concatenates its pooled input, so it makes width - c channels
                units.append(ShuffleUnitV1(c, widths[s] - (c if j == 0 else 0), 2 if j == 0 else 1, groups))
                c = widths[s]
            setattr(self, f"layer{s + 1}", nn.Sequential(*units))
        self.linear = nn.Linear(960, nc)
        self.channels = [24, 240, 480, 960, 960]

    def forward(self, x):
        f0 = F.relu(self.bn1(self.conv1(x)))
        f1, p1 = run_stage(self.layer1, f0)
        f2, p2 = run_stage(self.layer2, f1)
        f3, p3 = run_stage(self.layer3, f2)
        pooled = F.avg_pool2d(f3, 4).flatten(1)
        return [f0, f1, f2, f3, pooled], [f0, p1, p2, p3, pooled], self.linear(pooled)


# ---------------- RepDistiller ShuffleNetv2.py (net_size 1) ----------------
class ShuffleUnitV2(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c // 2
        self.conv1 = nn.Conv2d(h, h, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(h)
        self.conv2 = nn.Conv2d(h, h, 3, stride=1, padding=1, groups=h, bias=False)
        self.bn2 = nn.BatchNorm2d(h)
        self.conv3 = nn.Conv2d(h, h, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(h)
        self.h = h

    def forward(self, x):
        keep, work = x[:, :self.h], x[:, self.h:]
        y = F.relu(self.bn1(self.conv1(work)))
        y = self.bn2(self.conv2(y))
        y = self.bn3(self.conv3(y))
        pre = torch.cat([keep, y], 1)                 # the reference leaves the preact unshuffled
        out = channel_shuffle(torch.cat([keep, F.relu(y)], 1), 2)
        return out, pre


class DownUnitV2(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        m = cout // 2
        self.conv1 = nn.Conv2d(cin, cin, 3, stride=2, padding=1, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv2 = nn.Conv2d(cin, m, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(m)
        self.conv3 = nn.Conv2d(cin, m, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(m)
        self.conv4 = nn.Conv2d(m, m, 3, stride=2, padding=1, groups=m, bias=False)
        self.bn4 = nn.BatchNorm2d(m)
        self.conv5 = nn.Conv2d(m, m, 1, bias=False)
        self.bn5 = nn.BatchNorm2d(m)

    def forward(self, x):
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))))
        right = F.relu(self.bn3(self.conv3(x)))
        right = F.relu(self.bn5(self.conv5(self.bn4(self.conv4(right)))))
        return channel_shuffle(torch.cat([left, right], 1), 2), None


class ShuffleV2(Zoo):
    classifier_path = "linear"

    def __init__(self, nc, cin=3):
        super().__init__()
        widths, counts, last = [116, 232, 464], [3, 7, 3], 1024
        self.conv1 = nn.Conv2d(cin, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        c = 24
        for s in range(3):
            units = [DownUnitV2(c, widths[s])] + [ShuffleUnitV2(widths[s]) for _ in range(counts[s])]
            c = widths[s]
            setattr(self, f"layer{s + 1}", nn.Sequential(*units))
        self.conv2 = nn.Conv2d(c, last, 1, stride=1, padding=0, bias=False)
        self.bn2 = nn.BatchNorm2d(last)
        self.linear = nn.Linear(last, nc)
        self.channels = [24, 116, 232, 464, 1024]

    def forward(self, x):
        f0 = F.relu(self.bn1(self.conv1(x)))
        f1, p1 = run_stage(self.layer1, f0)
        f2, p2 = run_stage(self.layer2, f1)
        f3, p3 = run_stage(self.layer3, f2)
        y = F.relu(self.bn2(self.conv2(f3)))
        pooled = F.avg_pool2d(y, 4).flatten(1)
        return [f0, f1, f2, f3, pooled], [f0, p1, p2, p3, pooled], self.linear(pooled)


# ----------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------
SMALL = [16, 16, 32, 64]
WIDE4 = [32, 64, 128, 256]
ZOO = {
    "resnet8": lambda nc, ci: CifarResNet(8, SMALL, nc, ci),
    "resnet14": lambda nc, ci: CifarResNet(14, SMALL, nc, ci),
    "resnet20": lambda nc, ci: CifarResNet(20, SMALL, nc, ci),
    "resnet32": lambda nc, ci: CifarResNet(32, SMALL, nc, ci),
    "resnet44": lambda nc, ci: CifarResNet(44, SMALL, nc, ci),
    "resnet56": lambda nc, ci: CifarResNet(56, SMALL, nc, ci),
    "resnet110": lambda nc, ci: CifarResNet(110, SMALL, nc, ci),
    "resnet8x4": lambda nc, ci: CifarResNet(8, WIDE4, nc, ci),
    "resnet32x4": lambda nc, ci: CifarResNet(32, WIDE4, nc, ci),
    "wrn_16_1": lambda nc, ci: WideResNet(16, 1, nc, ci),
    "wrn_16_2": lambda nc, ci: WideResNet(16, 2, nc, ci),
    "wrn_16_4": lambda nc, ci: WideResNet(16, 4, nc, ci),
    "wrn_28_4": lambda nc, ci: WideResNet(28, 4, nc, ci),
    "wrn_40_1": lambda nc, ci: WideResNet(40, 1, nc, ci),
    "wrn_40_2": lambda nc, ci: WideResNet(40, 2, nc, ci),
    "pyramidnet110_a84": lambda nc, ci: PyramidNet(110, 84, False, nc, ci),
    "pyramidnet200_a240": lambda nc, ci: PyramidNet(200, 240, True, nc, ci),
    "vgg8": lambda nc, ci: Vgg(VGG_CFG["vgg8"], nc, ci),
    "vgg11": lambda nc, ci: Vgg(VGG_CFG["vgg11"], nc, ci),
    "vgg13": lambda nc, ci: Vgg(VGG_CFG["vgg13"], nc, ci),
    "vgg16": lambda nc, ci: Vgg(VGG_CFG["vgg16"], nc, ci),
    "vgg19": lambda nc, ci: Vgg(VGG_CFG["vgg19"], nc, ci),
    "MobileNetV2": lambda nc, ci: MobileNetV2(nc, ci),
    "ShuffleV1": lambda nc, ci: ShuffleV1(nc, ci),
    "ShuffleV2": lambda nc, ci: ShuffleV2(nc, ci),
    "ResNet18": lambda nc, ci: ResNetV2(Basic, [2, 2, 2, 2], nc, ci),
    "ResNet34": lambda nc, ci: ResNetV2(Basic, [3, 4, 6, 3], nc, ci),
    "ResNet50": lambda nc, ci: ResNetV2(Bottle, [3, 4, 6, 3], nc, ci),
    "resnet18_imagenet": lambda nc, ci: ImageNetResNet(Basic, [2, 2, 2, 2], nc, ci),
    "resnet34_imagenet": lambda nc, ci: ImageNetResNet(Basic, [3, 4, 6, 3], nc, ci),
    "resnet50_imagenet": lambda nc, ci: ImageNetResNet(Bottle, [3, 4, 6, 3], nc, ci),
    "resnet152_imagenet": lambda nc, ci: ImageNetResNet(Bottle, [3, 8, 36, 3], nc, ci),
}


def is_imagenet(name):
    return name.endswith("_imagenet")


# ----------------------------------------------------------------------------------------------
# Formula fill (the C# tests apply the same rule, see FormulaFill.cs in tests/DistillSharp.Tests/Models)
#   Entries are visited in state_dict order; k is the entry's position, i the flat element index.
#   s(i, k) = sin(0.37 * i + 1.3 * k)
#   num_batches_tracked        untouched
#   *running_var               1 + 0.5 * |s|
#   *running_mean              0.1 * s
#   1-d *weight (BN gamma)     1 + 0.25 * s
#   other 1-d (biases)         0.1 * s
#   >= 2-d weights             s / sqrt(fan_in), fan_in = numel / shape[0]
#   input x (flat index i)     sin(0.1 * i)
# All values are computed in float64 and stored as float32.
# ----------------------------------------------------------------------------------------------
def formula_fill(model):
    with torch.no_grad():
        for k, (key, t) in enumerate(model.state_dict().items()):
            if key.endswith("num_batches_tracked"):
                continue
            n = t.numel()
            s = torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + 1.3 * k)
            if key.endswith("running_var"):
                v = 1.0 + 0.5 * s.abs()
            elif key.endswith("running_mean"):
                v = 0.1 * s
            elif t.dim() == 1 and key.endswith("weight"):
                v = 1.0 + 0.25 * s
            elif t.dim() == 1:
                v = 0.1 * s
            else:
                v = (1.0 / math.sqrt(n / t.shape[0])) * s
            t.copy_(v.reshape(t.shape).to(t.dtype))


def formula_input(shape):
    n = 1
    for d in shape:
        n *= d
    return torch.sin(torch.arange(n, dtype=torch.float64) * 0.1).reshape(shape).to(torch.float32)


def count_macs(model, x):
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        total[0] += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return total[0]


def shapes(ts):
    return [list(t.shape) for t in ts]


def describe(name):
    torch.manual_seed(0)
    model = ZOO[name](100, 3)
    model.eval()
    sd = model.state_dict()
    rec = {
        "params": sum(p.numel() for p in model.parameters()),
        "state_dict": [[k, list(v.shape)] for k, v in sd.items()],
        "classifier": model.classifier_path,
        "bn_before_relu": model.bn_before_relu(),
        "feature_channels": model.channels,
    }
    size = 224 if is_imagenet(name) else 32
    batch = 1 if is_imagenet(name) else 2
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        feats, pre, logits = model(x)
    rec["shapes"] = {"input": list(x.shape), "features": shapes(feats), "preact_features": shapes(pre),
                     "logits": list(logits.shape)}
    assert [f.shape[1] for f in feats] == model.channels, name
    rec["macs"] = count_macs(model, torch.zeros(1, 3, size, size))

    fill_size = 64 if is_imagenet(name) else 32
    formula_fill(model)
    xf = formula_input((2, 3, fill_size, fill_size))
    with torch.no_grad():
        feats, pre, logits = model(xf)
        # conditioning check: the same computation in float64 must agree closely with float32
        m64 = ZOO[name](100, 3).double().eval()
        formula_fill(m64)
        _, _, logits64 = m64(xf.double())
    scale = logits64.abs().max().item()
    drift = (logits.double() - logits64).abs().max().item() / max(scale, 1e-12)
    rec["fill"] = {
        "input": [2, 3, fill_size, fill_size],
        "feature_shapes": shapes(feats),
        "preact_shapes": shapes(pre),
        "logits": [[float(v) for v in row] for row in logits64],
        "logits_abs_max": scale,
        "feature_sums": [float(f.double().sum()) for f in feats],
        "feature_abs_sums": [float(f.double().abs().sum()) for f in feats],
        "preact_sums": [float(f.double().sum()) for f in pre],
        "preact_abs_sums": [float(f.double().abs().sum()) for f in pre],
        "float32_drift": drift,
    }
    return model, rec


# Published parameter counts (100 classes unless said otherwise), as an outside check on the transcription.
PUBLISHED = {
    "resnet20": 0.28e6, "resnet56": 0.86e6, "resnet8x4": 1.23e6, "resnet32x4": 7.43e6,
    "wrn_16_2": 0.70e6, "wrn_40_2": 2.26e6, "ResNet50": 23.7e6,
    "wrn_16_4": 2.77e6, "wrn_28_4": 5.87e6, "pyramidnet110_a84": 3.9e6, "pyramidnet200_a240": 26.8e6,
}
TORCHVISION_1000 = {"resnet18_imagenet": 11_689_512, "resnet34_imagenet": 21_797_672,
                    "resnet50_imagenet": 25_557_032, "resnet152_imagenet": 60_192_808}


def check_torchvision(name, ours):
    try:
        import torchvision.models as tvm
    except ImportError:
        print("  (torchvision not installed: skipped the key-for-key check of", name + ")")
        return
    tv = getattr(tvm, name.replace("_imagenet", ""))(num_classes=100).eval()
    ours_sd, tv_sd = ours.state_dict(), tv.state_dict()
    assert list(ours_sd.keys()) == list(tv_sd.keys()), name
    assert all(ours_sd[k].shape == tv_sd[k].shape for k in ours_sd), name
    tv.load_state_dict(ours_sd)
    x = formula_input((2, 3, 64, 64))
    with torch.no_grad():
        diff = (tv(x) - ours(x)[2]).abs().max().item()
    assert diff < 1e-5, (name, diff)
    print(f"  torchvision {name}: same keys, same logits (max diff {diff:.2e})")


def compact_json(value, indent=0):
    """Indented JSON in which a list of scalars, or of [key, shape] pairs' members, stays on one line."""
    pad, inner = " " * indent, " " * (indent + 1)

    def flat(v):
        return not isinstance(v, (list, dict)) or (isinstance(v, list) and all(flat(e) and not isinstance(e, list) for e in v))

    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {compact_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else "{}"
    if isinstance(value, list):
        if all(flat(e) for e in value):
            return json.dumps(value)
        items = [inner + compact_json(e, indent + 1) for e in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value)


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = {"generator": "tests/reference/zoo_reference.py", "torch": torch.__version__,
           "num_classes": 100, "in_channels": 3, "models": {}}
    for name in ZOO:
        model, rec = describe(name)
        out["models"][name] = rec
        p = rec["params"]
        note = ""
        if name in PUBLISHED:
            ref = PUBLISHED[name]
            assert abs(p - ref) / ref < 0.01, f"{name}: {p} params, published about {ref}"
            note = f"(published ~{ref / 1e6:.2f}M)"
        if name in TORCHVISION_1000:
            p1000 = sum(q.numel() for q in ZOO[name](1000, 3).parameters())
            assert p1000 == TORCHVISION_1000[name], (name, p1000)
            note = f"(1000 classes: {p1000}, torchvision's count)"
            check_torchvision(name, model)
        print(f"{name:18s} {p:>11,d} params {rec['macs']:>14,d} MACs  drift {rec['fill']['float32_drift']:.1e} {note}")
        assert rec["fill"]["float32_drift"] < 1e-5, name
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "zoo.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
