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
  input_grad_sum    sum of dL/dx;  input_grad_abs_sum: sum of |dL/dx|;  input_grad_norm: ||dL/dx||_2
  input_grad_sketch the projections of dL/dx (see below)
  input_grad_entries {flat index: dL/dx at that index} for INPUT_ENTRIES
  grad_norms        {parameter name: ||dL/dp||_2}
  grad_sketch       {parameter name: [<g, d_0>, ..., <g, d_7>]}, g = dL/dp flattened in row-major order
  grad_entries      {parameter name: [g[0], g[n // 2], g[n - 1]]}
  grad_drift        {parameter name: ||g32 - g64|| / ||g64||}, the float32 run's error on the whole tensor
The sketch directions are pseudo-random: d_j[i] = cos(2 pi r_j(i) / P), r_j(i) = (K_j i^2 + L_j i + C_j) mod P over
the flat index i, P = 3000017 (a prime above the largest parameter's size), K_j = (914237 + 611953 j) mod P,
L_j = (1046527 + 433981 j) mod P, C_j = 271828 j mod P, j = 0..7, in exact int64 arithmetic and then float64. A
quadratic-residue phase has a flat spectrum, so the directions are nearly orthogonal to each other and to any
structured pattern, and ||P e||^2 / ||P g||^2 estimates ||e||^2 / ||g||^2 for an error e as for a random projection.
(A plain cosine such as cos(0.37 i + 0.1) would not do: formula_fill writes sin(0.37 i + 1.3 k) into every weight,
and the projection of a gradient on that frequency is many times its share of the tensor, for some layers a
hundredth of it, for others twenty times.) The relative error and the cosine of the sketch vectors (P g versus
P g_ref) thus estimate those of the whole tensors; a negated gradient has sketch cosine -1, and the gradient of
another parameter of the same shape has an unrelated sketch (sketch_separation below).
All golden values are computed in float64 and written with 12 significant digits. float32_drift is the largest
float32-vs-float64 difference of a gradient norm, relative to the largest norm, input_float32_drift that of
sum |dL/dx|, and tensor_float32_drift the largest grad_drift of the model (conditioning checks: the C# test
scales its tolerances by them). sketch_separation is, over every pair of same-shaped parameters whose float64
gradients differ, the smallest ||P g_p - P g_q|| / ||P g_p|| (pairs whose gradients are equal, such as the biases of
the two batch norms summed into one residual, are left out: swapping them changes nothing).
"""
import json
import math
import os
import sys

import torch

from zoo_reference import ZOO, compact_json, formula_fill, formula_input, is_imagenet

SKETCH = 8
INPUT_ENTRIES_OF = lambda n: sorted({0, 1, n // 7, n // 3, n // 2, (2 * n) // 3, n - 2, n - 1})


SKETCH_PRIME = 3000017


def direction(n, j):
    """The j-th sketch direction over a flat tensor of n entries, float64 (see the module docstring)."""
    k, l, c = (914237 + 611953 * j) % SKETCH_PRIME, (1046527 + 433981 * j) % SKETCH_PRIME, (271828 * j) % SKETCH_PRIME
    i = torch.arange(n, dtype=torch.int64)
    r = ((i * i) % SKETCH_PRIME * k + i * l + c) % SKETCH_PRIME
    return torch.cos(r.double() * (2 * math.pi / SKETCH_PRIME))


def sketches(*flats):
    """For each float64 vector of the same size, [<flat, d_0>, ..., <flat, d_{SKETCH-1}>]."""
    out = [[] for _ in flats]
    for j in range(SKETCH):
        d = direction(flats[0].numel(), j)
        for o, f in zip(out, flats):
            o.append(float(torch.dot(f, d)))
    return out


def r12(v):
    return float(f"{v:.12g}")


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
    grads = {k: p.grad.detach().double().reshape(-1) for k, p in model.named_parameters() if p.grad is not None}
    return [2, 3, size, size], float(loss), x.grad.detach().double().reshape(-1), grads


def relative(a, b):
    return float((a - b).norm() / b.norm()) if float(b.norm()) > 0 else float((a - b).norm())


def separation(grads, sketches):
    """Smallest sketch distance, relative, between same-shaped parameters whose float64 gradients differ."""
    best, pair = float("inf"), None
    keys = list(grads)
    for i, p in enumerate(keys):
        for q in keys[i + 1:]:
            if grads[p].numel() != grads[q].numel() or SHAPES[p] != SHAPES[q]:
                continue
            if relative(grads[q], grads[p]) < 1e-9:
                continue   # the same gradient (e.g. the biases of the two batch norms summed into one residual)
            sp, sq = torch.tensor(sketches[p]), torch.tensor(sketches[q])
            d = float((sp - sq).norm() / sp.norm())
            if d < best:
                best, pair = d, [p, q]
    return best, pair


SHAPES = {}


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = {"generator": "tests/reference/zoo_gradients.py", "torch": torch.__version__,
           "sketch_directions": "d_j[i] = cos(2 pi r_j(i) / P), r_j(i) = (K_j i^2 + L_j i + C_j) mod P, P = 3000017, "
                                "K_j = (914237 + 611953 j) mod P, L_j = (1046527 + 433981 j) mod P, C_j = 271828 j mod P, j = 0..7", "models": {}}
    for name in ZOO:
        shape, loss64, x64, g64 = gradients(name, torch.float64)
        _, _, x32, g32 = gradients(name, torch.float32)
        SHAPES.clear()
        SHAPES.update({k: tuple(p.shape) for k, p in ZOO[name](100, 3).named_parameters()})
        assert set(g64) == set(SHAPES), name
        norms64 = {k: float(v.norm()) for k, v in g64.items()}
        norms32 = {k: float(v.norm()) for k, v in g32.items()}
        scale = max(norms64.values())
        drift = max(abs(norms32[k] - v) for k, v in norms64.items()) / scale
        input_drift = abs(float(x32.abs().sum()) - float(x64.abs().sum())) / float(x64.abs().sum())
        tensor_drift = {k: relative(g32[k], g64[k]) for k in g64}
        assert drift < 1e-3 and input_drift < 1e-2, (name, drift, input_drift)
        both = {k: sketches(g64[k], g32[k]) for k in g64}
        sk = {k: v[0] for k, v in both.items()}
        sketch_drift = max(relative(torch.tensor(v[1]), torch.tensor(v[0])) for v in both.values())
        sep, pair = separation(g64, sk)
        n = x64.numel()
        rec = {
            "input": shape,
            "loss": loss64,
            "input_grad_sum": float(x64.sum()),
            "input_grad_abs_sum": float(x64.abs().sum()),
            "input_grad_norm": float(x64.norm()),
            "input_grad_sketch": [r12(v) for v in sketches(x64)[0]],
            "input_grad_entries": {str(i): r12(float(x64[i])) for i in INPUT_ENTRIES_OF(n)},
            "input_tensor_float32_drift": r12(relative(x32, x64)),
            "grad_norms": norms64,
            "grad_sketch": {k: [r12(v) for v in s] for k, s in sk.items()},
            "grad_entries": {k: [r12(float(v[0])), r12(float(v[v.numel() // 2])), r12(float(v[-1]))] for k, v in g64.items()},
            "grad_drift": {k: r12(v) for k, v in tensor_drift.items()},
            "float32_drift": drift,
            "input_float32_drift": input_drift,
            "tensor_float32_drift": r12(max(tensor_drift.values())),
            "sketch_float32_drift": r12(sketch_drift),
            "sketch_separation": r12(sep),
            "sketch_separation_pair": pair,
        }
        out["models"][name] = rec
        worst = max(tensor_drift, key=tensor_drift.get)
        print(f"{name:18s} loss {loss64:+.6e}  |dL/dx| {rec['input_grad_abs_sum']:.6e}  drift {drift:.1e} / {input_drift:.1e}"
              f"  tensor {tensor_drift[worst]:.1e} ({worst})  sketch {sketch_drift:.1e}  separation {sep:.2e} {pair}")
        sys.stdout.flush()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "zoo_gradients.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    sys.exit(main())
