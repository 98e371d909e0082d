#!/usr/bin/python3
"""Golden gradients for the DistillSharp model zoo: a forward and backward of every network with autograd on.

The forward golden values of zoo_reference.py are taken without autograd. This script checks the backward pass:
the gradients that flow back through every returned tensor (logits, features and pre-activation features). The C#
side frees forward intermediates early to save memory; a tensor freed while autograd still needed it would change
these gradients or fail. Batch norms use their (formula-filled) running statistics: with batch statistics of two
images, float32 rounding in deep randomly-filled networks grows until float32 and float64 disagree by percents,
which would leave nothing to compare; the batch-norm arithmetic itself is libtorch's, not the zoo's.

Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/zoo_gradients.py

It writes tests/reference/golden/zoo_gradients.json holding, per model (100 classes, 3 input channels, two
formula images of 32x32, 64x64 for the ImageNet ResNets, weights by zoo_reference.formula_fill, eval mode):
  loss              L = sum_ij W_ij logits_ij + sum_k mean(features_k) + sum_k mean(preact_k),
                    W_ij = cos(0.05 (100 i + j))
  input_grad_sum    sum of dL/dx;  input_grad_abs_sum: sum of |dL/dx|
  grad_norms        {parameter name: ||dL/dp||_2}
All values are computed in float64; float32_drift is the largest float32-vs-float64 difference of a gradient norm,
relative to the largest norm, and input_float32_drift that of sum |dL/dx| (conditioning checks: the C# test
scales its tolerances by them).
"""
import json
import os
import sys

import torch

from zoo_reference import ZOO, compact_json, formula_fill, formula_input, is_imagenet


def loss_of(model, x):
    feats, pre, logits = model(x)
    n = logits.numel()
    w = torch.cos(torch.arange(n, dtype=torch.float64) * 0.05).reshape(logits.shape).to(logits.dtype)
    return (logits * w).sum() + sum(f.mean() for f in feats) + sum(p.mean() for p in pre)


def gradients(name, dtype):
    model = ZOO[name](100, 3).to(dtype).eval()
    formula_fill(model)
    size = 64 if is_imagenet(name) else 32
    x = formula_input((2, 3, size, size)).to(dtype).requires_grad_(True)
    loss = loss_of(model, x)
    loss.backward()
    norms = {k: float(p.grad.double().norm()) for k, p in model.named_parameters() if p.grad is not None}
    return {
        "input": [2, 3, size, size],
        "loss": float(loss),
        "input_grad_sum": float(x.grad.double().sum()),
        "input_grad_abs_sum": float(x.grad.double().abs().sum()),
        "grad_norms": norms,
    }


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = {"generator": "tests/reference/zoo_gradients.py", "torch": torch.__version__, "models": {}}
    for name in ZOO:
        g64, g32 = gradients(name, torch.float64), gradients(name, torch.float32)
        scale = max(g64["grad_norms"].values())
        drift = max(abs(g32["grad_norms"][k] - v) for k, v in g64["grad_norms"].items()) / scale
        input_drift = abs(g32["input_grad_abs_sum"] - g64["input_grad_abs_sum"]) / g64["input_grad_abs_sum"]
        assert drift < 1e-3 and input_drift < 1e-2, (name, drift, input_drift)
        assert set(g64["grad_norms"]) == {k for k, _ in ZOO[name](100, 3).named_parameters()}, name
        g64["float32_drift"] = drift
        g64["input_float32_drift"] = input_drift
        out["models"][name] = g64
        print(f"{name:18s} loss {g64['loss']:+.6e}  |dL/dx| {g64['input_grad_abs_sum']:.6e}  drift {drift:.1e} / {input_drift:.1e}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "zoo_gradients.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
