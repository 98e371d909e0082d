#!/usr/bin/python3
"""The networks of LONDON's official CIFAR-100 settings (london_models.py) against the DistillSharp zoo.

Run with Debian's PyTorch (1.13):

  london_models_reference.py
      checks the transcriptions and writes tests/reference/golden/london_models.json holding, per zoo name:
        params              parameters of the network built by london_models.py (100 classes)
        params_closed_form  the same count from the architecture's formulas (below), independent of the modules
        published           a published figure (millions, rounded; see PUBLISHED) when there is one
        official_bn_before_relu, official_channel_num   get_bn_before_relu() paths and get_channel_num()
        official_bn_before_relu_channels  the widths of those batch norms (for the basic PyramidNet they are not the
                            preReLU features' widths: the official list there cannot give OFD's margins)
        stage_widths        [first block's planes, last block's planes] per stage (PyramidNets)
      and asserts, for the same weights, that the official wide ResNet computes what zoo_reference.py's transcription
      of RepDistiller's wrn.py computes (logits and every feature of extract_feature, both forms), and the official
      ResNet-56 what zoo_reference.py's resnet56 computes.
  london_models_reference.py save MODEL DIR
      builds MODEL (a zoo name of london_models.OFFICIAL) with fixed random weights and batch-norm statistics, and
      writes into DIR the checkpoint in the form the official load_settings.py reads it (wide ResNets, ResNet:
      {'model': state_dict}; PyramidNets: {'state_dict': nn.DataParallel's 'module.'-prefixed state_dict}),
      official.pt, zip format; input.bin (2 x 3 x 32 x 32, float32); logits.bin; feat{1,2,3}.bin and
      pre{1,2,3}.bin, the lists of extract_feature(x, preReLU=False / True) (float32, NCHW); shapes.json.
      Eval mode.

Closed forms (c_in, p: a block's input channels and planes; BN = 2 parameters per channel; fc: C_final x 100 + 100):
  wide ResNet block     2 c_in + 9 c_in p + 2 p + 9 p^2 (+ c_in p for the 1x1 shortcut when c_in != p)
  PyramidNet basic      2 c_in + 9 c_in p + 2 p + 9 p^2 + 2 p
  PyramidNet bottleneck 2 c_in + c_in p + 2 p + 9 p^2 + 2 p + 4 p^2 + 8 p
  ResNet basic          9 c_in p + 2 p + 9 p^2 + 2 p (+ c_in p + 2 p for the projection)
with the PyramidNet's planes of block j (1-based, over all 3n blocks) round(16 + j alpha / (3n)), computed here as a
product, where the official code accumulates the step block by block (equal for these settings).
"""
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from london_models import OFFICIAL, LondonPyramidNet  # noqa: E402
from weights_reference import randomize  # noqa: E402
from zoo_reference import ZOO, compact_json  # noqa: E402

# Published parameter counts in millions, as rounded in their sources (the checks allow for the rounding and for
# 10-class counts): WRN-28-4 and WRN-16-x as the wide-ResNet literature gives them for CIFAR-100, ResNet-56 0.86M,
# PyramidNet-200 (alpha 240, bottleneck) 26.8M and PyramidNet-110 (alpha 84) 3.9M.
PUBLISHED = {"wrn_28_4": 5.87, "wrn_16_4": 2.77, "wrn_16_2": 0.70, "resnet56": 0.86,
             "pyramidnet200_a240": 26.8, "pyramidnet110_a84": 3.9}
SETTINGS = {"wrn_28_4": ("wide", 28, 4), "wrn_16_4": ("wide", 16, 4), "wrn_16_2": ("wide", 16, 2),
            "resnet56": ("resnet", 56, None), "pyramidnet200_a240": ("bottleneck", 200, 240),
            "pyramidnet110_a84": ("basic", 110, 84)}
CLASSES = 100


def closed_form(name):
    kind, depth, x = SETTINGS[name]
    total = 3 * 16 * 9
    if kind == "wide":
        n, w = (depth - 4) // 6, [16, 16 * x, 32 * x, 64 * x]
        for g in range(3):
            for j in range(n):
                c, p = (w[g] if j == 0 else w[g + 1]), w[g + 1]
                total += 2 * c + 9 * c * p + 2 * p + 9 * p * p + (c * p if c != p else 0)
        return total + 2 * w[3] + w[3] * CLASSES + CLASSES
    if kind == "resnet":
        n, w = (depth - 2) // 6, [16, 16, 32, 64]
        total += 2 * 16
        for g in range(3):
            for j in range(n):
                c, p = (w[g] if j == 0 else w[g + 1]), w[g + 1]
                total += 9 * c * p + 2 * p + 9 * p * p + 2 * p + ((c * p + 2 * p) if c != p else 0)
        return total + 64 * CLASSES + CLASSES
    bottleneck = kind == "bottleneck"
    n = (depth - 2) // (9 if bottleneck else 6)
    ratio = 4 if bottleneck else 1
    total += 2 * 16
    c = 16
    for j in range(1, 3 * n + 1):
        p = int(round(16 + j * x / (3 * n)))
        if bottleneck:
            total += 2 * c + c * p + 2 * p + 9 * p * p + 2 * p + 4 * p * p + 8 * p
        else:
            total += 2 * c + 9 * c * p + 2 * p + 9 * p * p + 2 * p
        c = p * ratio
    return total + 2 * c + c * CLASSES + CLASSES


def build(name, seed=23):
    torch.manual_seed(seed)
    return randomize(OFFICIAL[name](CLASSES), seed + 1, 5)


def image_batch():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(31))


def max_diff(a, b):
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def same_function_checks():
    """Official wide ResNet vs zoo_reference's wrn.py transcription, official ResNet-56 vs zoo_reference's resnet56:
    the same state_dict keys in the same order, and the same outputs for the same weights."""
    x = image_batch()
    for name in ("wrn_16_2", "wrn_16_4", "wrn_28_4", "resnet56"):
        official = build(name)
        zoo = ZOO[name](CLASSES, 3).eval()
        assert list(official.state_dict().keys()) == list(zoo.state_dict().keys()), name
        zoo.load_state_dict(official.state_dict())
        with torch.no_grad():
            feats, logits = official.extract(x, False)
            pres, logits_pre = official.extract(x, True)
            zf, zp, zl = zoo(x)
        d = max(max_diff([logits, logits_pre], [zl, zl]), max_diff(feats, zf[1:4]), max_diff(pres, zp[1:4]))
        scale = max(t.abs().max().item() for t in [logits] + feats + pres)
        assert d <= 1e-5 * scale, (name, d, scale)
        print(f"  {name}: official definition = zoo transcription (largest difference {d:.1e}, scale {scale:.1e})")


def describe(name):
    model = OFFICIAL[name](CLASSES)
    params = sum(p.numel() for p in model.parameters())
    closed = closed_form(name)
    assert params == closed, (name, params, closed)
    published = PUBLISHED[name]
    # The sources round to 0.01M or 0.1M; PyramidNet figures are quoted to 0.1M (and for 10 classes in the
    # PyramidNet paper): 5% is what their rounding and class count allow at most for these networks.
    assert abs(params / 1e6 - published) <= 0.05 * published, (name, params, published)
    rec = {"params": params, "params_closed_form": closed, "published": published,
           "official_bn_before_relu": model.bn_before_relu(), "official_channel_num": model.channel_num(),
           "official_bn_before_relu_channels": [model.get_submodule(b).num_features for b in model.bn_before_relu()]}
    if isinstance(model, LondonPyramidNet):
        widths = []
        for layer in (model.layer1, model.layer2, model.layer3):
            widths.append([layer[0].conv1.out_channels, layer[-1].conv1.out_channels])
        rec["stage_widths"] = widths
        rec["blocks_per_stage"] = len(model.layer1)
    print(f"  {name:20s} {params:>11,d} parameters (closed form {closed:,d}; published ~{published}M) "
          f"channel_num {rec['official_channel_num']}")
    return rec


def write_f32(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().contiguous().to(torch.float32).numpy().tobytes())


def save(name, folder):
    model = build(name)
    state = model.state_dict()
    if isinstance(model, LondonPyramidNet):
        checkpoint = {"state_dict": {"module." + k: v for k, v in state.items()}, "epoch": 300}
    else:
        checkpoint = {"model": state, "epoch": 200}
    torch.save(checkpoint, os.path.join(folder, "official.pt"))
    x = image_batch()
    with torch.no_grad():
        feats, logits = model.extract(x, False)
        pres, _ = model.extract(x, True)
    write_f32(os.path.join(folder, "input.bin"), x)
    write_f32(os.path.join(folder, "logits.bin"), logits)
    for i in range(3):
        write_f32(os.path.join(folder, f"feat{i + 1}.bin"), feats[i])
        write_f32(os.path.join(folder, f"pre{i + 1}.bin"), pres[i])
    shapes = {"logits": list(logits.shape), "feat": [list(f.shape) for f in feats], "pre": [list(p.shape) for p in pres]}
    with open(os.path.join(folder, "shapes.json"), "w") as f:
        json.dump(shapes, f)
    print(f"saved {name}: {len(state)} tensors, logits scale {logits.abs().max().item():.3g}")


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if len(sys.argv) > 1 and sys.argv[1] == "save":
        save(sys.argv[2], sys.argv[3])
        return 0
    same_function_checks()
    out = {"generator": "tests/reference/london_models_reference.py", "torch": torch.__version__,
           "num_classes": CLASSES, "models": {name: describe(name) for name in OFFICIAL}}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "london_models.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
