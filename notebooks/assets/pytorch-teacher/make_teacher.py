"""Trains the resnet8 teacher that notebook 00's section "Bring a teacher from PyTorch" imports, with PyTorch.

Run from the repository root with Debian's PyTorch (python3-torch, 1.13):

    /usr/bin/python3 notebooks/assets/pytorch-teacher/make_teacher.py

It reads Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), pads each 28x28 image
with zeros to 32x32 and normalizes it with the training set's mean and std (0.2860, 0.3530) as DistillSharp's loader
does, and trains the network of tests/reference/zoo_reference.py (an independent PyTorch transcription of RepDistiller's
resnet8 for one grey channel and 10 classes) for 2 epochs on the 60,000 training images (SGD 0.9, lr 0.05 with a cosine
decay, weight decay 5e-4, batch 64, random horizontal flips, seed 0). It writes, next to this script:

- teacher.pt: {"model": state_dict, "epoch": 2}, the layout of RepDistiller's and mdistiller's released teachers,
  in torch.save's zip format;
- check.pt: {"input": the first 8 test images as the network sees them, "logits": the network's logits on them in
  eval mode, "test_top1": its top-1 (%) on the 10,000 test images}, a plain dict of tensors.

Nothing else in the project runs this script or needs PyTorch: the two files are committed.
"""
import gzip
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "reference"))
from zoo_reference import ZOO  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(name):
    path = os.path.join(DATA, name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def images(name):
    raw = idx(name).unsqueeze(1)                      # [N, 1, 28, 28] uint8
    padded = F.pad(raw, (2, 2, 2, 2))                 # zeros to 32x32, before normalization
    return (padded.float() / 255 - MEAN) / STD


def top1(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 500):
            correct += (model(x[i:i + 500])[2].argmax(1) == y[i:i + 500]).sum().item()
    return 100.0 * correct / len(x)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x_train, y_train = images("train-images-idx3-ubyte"), idx("train-labels-idx1-ubyte").long()
    x_test, y_test = images("t10k-images-idx3-ubyte"), idx("t10k-labels-idx1-ubyte").long()
    model = ZOO["resnet8"](10, 1)
    epochs, batch = 2, 64
    steps = epochs * ((len(x_train) + batch - 1) // batch)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(order), batch):
            ids = order[i:i + batch]
            x = x_train[ids]
            flip = torch.rand(len(ids)) < 0.5
            x[flip] = x[flip].flip(3)
            loss = F.cross_entropy(model(x)[2], y_train[ids])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}: last loss {loss.item():.4f}, test top-1 {top1(model, x_test, y_test):.2f}%", flush=True)
    model.eval()
    torch.save({"model": model.state_dict(), "epoch": epochs}, os.path.join(HERE, "teacher.pt"))
    with torch.no_grad():
        check_input = x_test[:8].clone()
        check_logits = model(check_input)[2]
    torch.save({"input": check_input, "logits": check_logits, "test_top1": torch.tensor(top1(model, x_test, y_test), dtype=torch.float64)},
               os.path.join(HERE, "check.pt"))
    print(f"wrote teacher.pt and check.pt; test top-1 {top1(model, x_test, y_test):.2f}%")


if __name__ == "__main__":
    main()
