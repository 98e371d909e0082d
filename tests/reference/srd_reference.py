#!/usr/bin/python3
"""Golden values for DistillSharp's srd: one whole training step of a small pair, from an independent transcription.

The method is restated here from its specification (/work/shared/papers/projector.md and the XML documentation of
Losses/Projector.cs and Distillers/SimpleRecipeDistiller.cs), not from the C# code:

    L = gamma * CE(y_s, y) + beta * S(N(h(z_s)), N(z_t)) + alpha * T^2 * KL(softmax(y_t/T) || softmax(y_s/T)),

z_s, z_t the pooled features, h the projector, N the normalisation and S the soft maximum. Two settings:

  "official": h linear (d_s -> d_t), N = torch's BatchNorm1d(affine=False, eps=1e-4) in training mode on each side,
              S = log(sum |d|^4), beta = 2, alpha = 1, T = 1, gamma = 1: the official ResNet code's loss.
  "ablation": h = Linear(d_s, 24) -> ReLU -> Linear(24, d_t), N = F.layer_norm without affine (eps 1e-4),
              S = sum |d|^3 (no log), beta = 0.05, alpha = 0.6, T = 3, gamma = 0.9.

Networks are zoo_reference.py's transcriptions of RepDistiller, filled by its formula_fill (the teacher's batch
statistics calibrated as in mimkd_reference.py); the projector by the fill below. Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/srd_reference.py

It writes tests/reference/golden/srd.json: per setting the method parameters, the projector's fills, every weighted
loss term (float64), and for each term and the total the gradient of a few named parameters (null where the term
does not reach the parameter), computed in float64, with the float32 drifts as conditioning checks.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

from zoo_reference import ZOO, compact_json, formula_fill, formula_input

TEACHER, STUDENT, CLASSES, BATCH = "resnet8x4", "resnet8", 10, 6
LABELS = [1, 7, 3, 0, 9, 3]
SETTINGS = {
    "official": {},
    "ablation": {"gamma": 0.9, "alpha": 0.6, "temperature": 3.0, "beta": 0.05, "normalization": 3, "soft_maximum": 2,
                 "exponent": 3.0, "projector": 2, "mlp_hidden": 24},
}
WATCHED = {
    "official": ["student.conv1.weight", "student.layer3.0.bn2.weight", "student.layer3.0.bn2.bias", "student.fc.weight",
                 "embed.weight"],
    "ablation": ["student.conv1.weight", "student.layer3.0.bn2.weight", "student.fc.weight", "embed.0.weight",
                 "embed.0.bias", "embed.2.weight", "embed.2.bias"],
}


def fill(shape, a, b, scale):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.float64)
    return (scale * torch.sin(a * i + b)).reshape(shape)


def projector_fills(name, d_s, d_t):
    """name -> (shape, a, b, scale): weights 2/sqrt(fan_in) (the student's pooled features are small), biases 0.1."""
    layers = [("embed", d_s, d_t)] if name == "official" else [("embed.0", d_s, 24), ("embed.2", 24, d_t)]
    out = {}
    k = 0
    for prefix, cin, cout in layers:
        for kind, shape in (("weight", [cout, cin]), ("bias", [cout])):
            scale = 2.0 / math.sqrt(cin) if kind == "weight" else 0.1
            out[f"{prefix}.{kind}"] = (shape, round(1.3 + 0.41 * k, 6), round(0.9 * k + 0.2, 6), scale)
            k += 1
    return out


def calibrate(teacher, x):
    bns = [m for m in teacher.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.momentum = 1.0
    teacher.train()
    with torch.no_grad():
        teacher(x)
    for m in bns:
        m.momentum = 0.1
    teacher.eval()


def step(name, dtype):
    teacher = ZOO[TEACHER](CLASSES, 3).to(dtype).eval()
    student = ZOO[STUDENT](CLASSES, 3).to(dtype).train()
    formula_fill(teacher)
    formula_fill(student)
    x = formula_input((BATCH, 3, 32, 32)).to(dtype)
    calibrate(teacher, x)
    y = torch.tensor(LABELS)
    d_s, d_t = student.channels[-1], teacher.channels[-1]
    fills = projector_fills(name, d_s, d_t)
    proj = {k: fill(*v).to(dtype).requires_grad_(True) for k, v in fills.items()}

    with torch.no_grad():
        t_feats, _, t_logits = teacher(x)
    feats, _, logits = student(x)
    z_s, z_t = feats[-1], t_feats[-1]

    if name == "official":
        gamma, alpha, T, beta = 1.0, 1.0, 1.0, 2.0
        h = F.linear(z_s, proj["embed.weight"], proj["embed.bias"])
        bn_s = torch.nn.BatchNorm1d(d_t, eps=1e-4, affine=False).to(dtype).train()
        bn_t = torch.nn.BatchNorm1d(d_t, eps=1e-4, affine=False).to(dtype).train()
        rep = torch.log((bn_s(h) - bn_t(z_t)).abs().pow(4.0).sum())
    else:
        gamma, alpha, T, beta = 0.9, 0.6, 3.0, 0.05
        h = F.linear(F.relu(F.linear(z_s, proj["embed.0.weight"], proj["embed.0.bias"])),
                     proj["embed.2.weight"], proj["embed.2.bias"])
        n_s = F.layer_norm(h, (d_t,), eps=1e-4)
        n_t = F.layer_norm(z_t, (d_t,), eps=1e-4)
        rep = (n_s - n_t).abs().pow(3.0).sum()

    terms = {
        "ce": gamma * F.cross_entropy(logits, y),
        "kd": alpha * F.kl_div(F.log_softmax(logits / T, 1), F.softmax(t_logits / T, 1), reduction="batchmean") * T * T,
        "rep": beta * rep,
    }
    terms["total"] = sum(terms.values())

    params = dict(("student." + k, p) for k, p in student.named_parameters())
    params.update(proj)
    watched = [params[k] for k in WATCHED[name]]
    grads = {}
    for term, value in terms.items():
        g = torch.autograd.grad(value, watched, retain_graph=True, allow_unused=True)
        grads[term] = {k: (None if gi is None else gi.double().reshape(-1)) for k, gi in zip(WATCHED[name], g)}
    return {k: float(v) for k, v in terms.items()}, grads, fills


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    cases = {}
    for name, setting in SETTINGS.items():
        terms, grads, fills = step(name, torch.float64)
        terms32, grads32, _ = step(name, torch.float32)
        drift = 0.0
        for term, by_name in grads.items():
            for k, g in by_name.items():
                if g is not None and float(g.norm()) > 0:
                    drift = max(drift, float((grads32[term][k] - g).norm() / g.norm()))
        assert drift < 1e-3, (name, drift)
        cases[name] = {
            "parameters": setting,
            "projector_fills": {k: {"shape": v[0], "a": v[1], "b": v[2], "scale": v[3]} for k, v in fills.items()},
            "losses": terms,
            "float32_loss_drift": {k: abs(terms32[k] - v) / abs(v) for k, v in terms.items()},
            "float32_drift": drift,
            "grads": {t: {k: (None if g is None else [float(f"{e:.9g}") for e in g.tolist()]) for k, g in by.items()}
                      for t, by in grads.items()},
        }
        for k, v in terms.items():
            print(f"{name:9s} {k:6s} {v:+.9f}  (float32 {terms32[k]:+.9f})")
        print(f"{name:9s} float32 drift of the gradients {drift:.1e}")
    out = {
        "generator": "tests/reference/srd_reference.py", "torch": torch.__version__,
        "teacher": TEACHER, "student": STUDENT, "classes": CLASSES, "input": [BATCH, 3, 32, 32], "labels": LABELS,
        "teacher_mode": "eval", "student_mode": "train", "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "srd.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
