#!/usr/bin/python3
"""PyTorch's side of the weight import/export tests (tests/DistillSharp.Tests/Weights/PyTorchWeightsTests.cs).

The networks are the independent transcriptions of zoo_reference.py (RepDistiller's CIFAR definitions, torchvision's
ResNet layout). Run with Debian's PyTorch 1.13 (/usr/bin/python3); the C# tests call it:

  weights_reference.py save MODEL CLASSES SIZE DIR [zip|all [CHANNELS]]
      builds MODEL with fixed random weights and batch-norm statistics, and writes into DIR:
        zip.pt          torch.save(state_dict) (zip format, PyTorch >= 1.6)
        legacy.pt       the same with _use_new_zipfile_serialization=False (the pre-1.6 format)
        model-dict.pt   {'model': state_dict, 'epoch', 'best_acc' (a tensor), 'optimizer' (SGD with momentum
                        buffers)} in the legacy format, as RepDistiller's train_teacher.py saves
        dataparallel.pt {'state_dict': nn.DataParallel(model).state_dict()} (keys prefixed 'module.'), zip format
        weights.safetensors  the state dict in the safetensors layout (written here from its specification)
        (with "zip": zip.pt alone)
        input.bin, logits.bin  a fixed batch of 2 images (float32, NCHW) and the network's logits on it (eval mode)
  weights_reference.py check MODEL CLASSES STATE INPUT LOGITS
      torch.load(STATE) into MODEL with strict=True, runs INPUT in eval mode and compares with LOGITS (float32
      files); prints the largest difference and exits 1 above 1e-4
  weights_reference.py malicious DIR MARKER
      writes pickles that name os.system, builtins.eval, a class of their own, and os.system through protocol 4's
      STACK_GLOBAL, each of which would create MARKER if it were run
"""
import collections
import json
import os
import pickle
import struct
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_reference import ZOO  # noqa: E402


def randomize(model, seed, batches_tracked):
    """Fixed random weights and batch-norm statistics (so that a swapped or skipped tensor changes the output)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / max(1, p[0].numel())) ** 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5 + 0.25)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(batches_tracked)
    return model.eval()


def build(name, classes, channels=3):
    torch.manual_seed(17)
    return randomize(ZOO[name](classes, channels), 1717, 7)


def logits(model, x):
    with torch.no_grad():
        return model(x)[2]


def write_f32(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().contiguous().to(torch.float32).numpy().tobytes())


def read_f32(path, shape):
    with open(path, "rb") as f:
        data = f.read()
    return torch.frombuffer(bytearray(data), dtype=torch.float32).reshape(shape)


def save_safetensors(path, state):
    names = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for key, value in state.items():
        raw = value.contiguous().numpy().tobytes()
        header[key] = {"dtype": names[value.dtype], "shape": list(value.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def save(name, classes, size, folder, formats, channels):
    model = build(name, classes, channels)
    gen = torch.Generator().manual_seed(99)
    x = torch.randn(2, channels, size, size, generator=gen)
    state = model.state_dict()
    torch.save(state, os.path.join(folder, "zip.pt"))
    write_f32(os.path.join(folder, "input.bin"), x)
    write_f32(os.path.join(folder, "logits.bin"), logits(model, x))
    if formats == "zip":
        return
    torch.save(state, os.path.join(folder, "legacy.pt"), _use_new_zipfile_serialization=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()  # momentum buffers of zero gradients: the weights do not move
    checkpoint = {"epoch": 240, "model": state, "best_acc": torch.tensor(73.25), "optimizer": optimizer.state_dict()}
    torch.save(checkpoint, os.path.join(folder, "model-dict.pt"), _use_new_zipfile_serialization=False)
    parallel = collections.OrderedDict(("module." + k, v) for k, v in state.items())
    torch.save({"state_dict": parallel, "epoch": 3}, os.path.join(folder, "dataparallel.pt"))
    save_safetensors(os.path.join(folder, "weights.safetensors"), state)


def check(name, classes, state_path, input_path, logits_path):
    model = ZOO[name](classes, 3)
    state = torch.load(state_path)
    model.load_state_dict(state, strict=True)
    model.eval()
    expected_size = None
    with open(input_path, "rb") as f:
        n = len(f.read()) // 4
    side = int(round((n // 6) ** 0.5))
    expected_size = (2, 3, side, side)
    x = read_f32(input_path, expected_size)
    ours = logits(model, x)
    theirs = read_f32(logits_path, ours.shape)
    diff = (ours - theirs).abs().max().item()
    print(f"max |logits difference| {diff:.3e} over {ours.numel()} logits; keys {len(state)}")
    sys.exit(0 if diff <= 1e-4 else 1)


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvalEvil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({self.marker!r}, 'w')",))


class OwnClass:
    def __init__(self, marker):
        self.marker = marker


def malicious(folder, marker):
    torch.save({"model": {"w": torch.zeros(2)}, "x": Evil(marker)}, os.path.join(folder, "os-system.pt"))
    torch.save({"x": EvalEvil(marker)}, os.path.join(folder, "builtins-eval.pt"))
    torch.save({"model": OwnClass(marker)}, os.path.join(folder, "own-class.pt"))
    with open(os.path.join(folder, "stack-global.pt"), "wb") as f:
        pickle.dump({"x": Evil(marker)}, f, protocol=4)


def main():
    command = sys.argv[1]
    if command == "save":
        save(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6] if len(sys.argv) > 6 else "all",
             int(sys.argv[7]) if len(sys.argv) > 7 else 3)
    elif command == "check":
        check(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
    elif command == "malicious":
        malicious(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
