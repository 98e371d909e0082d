#!/usr/bin/python3
"""Golden values for DistillSharp's ofd and london: whole training steps of a small pair, from an independent
transcription.

The methods are restated here from their specification (/work/shared/papers/london.md: OFD as the official LONDON
code carries it, and LONDON on top), not from the C# code:

    margin m_c = E[x | x < 0] for x ~ N(beta_c, gamma_c^2), the teacher's BN before the ReLU of the stage
               = beta - |gamma| pdf(beta/|gamma|) / cdf(-beta/|gamma|)   if cdf(-beta/|gamma|) > 0.001, else -3|gamma|
    d_p(s, t) = sum over elements of (s - max(t, m))^2 where s > max(t, m) or max(t, m) > 0, else 0
    L_OFD = sum_i d_p(C_i(s_i), t_i) / 2^(N-1-i),        C_i = 1x1 conv (no bias) then BN (train mode)
    TM(a, b)[c, d] = mean over the positions of b of pool(a)[c, p] * b[d, p], pool = mean over each k x k block
    sigma(M) = power iteration on K = M M^T from ones: v <- K v / |K v|, n times; sigma = sqrt(|K v_(n-1)|)
    L_lip = sum_(i<N-1) mean_b (sigma(TM(C_i(s_i), s_(i+1))) - sigma(TM(t_i, t_(i+1))))^2 / 2^(N-1-i)
    CIFAR:    L = CE + beta L_OFD / (1000 B) + alpha L_lip / 200
    ImageNet: L = CE + beta L_OFD / (10000 B) + alpha L_lip / (10000 B)

s_i, t_i are the pre-ReLU stage features (the preact list without the stem and the pooled vector). The teacher runs
in train mode (batch statistics) without gradients; only the student and the connectors get gradients. Networks are
zoo_reference.py's transcriptions of RepDistiller, filled by its formula_fill; the connectors by the fill below.

Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/london_reference.py

It writes tests/reference/golden/london.json: for each setting (ofd at the CIFAR scaling, london at the CIFAR and
at the ImageNet scaling), every weighted loss term (float64), the gradient of a few named parameters per term (null
where the term does not reach the parameter), the teacher's BN running statistics after the step, and each term's
float32-vs-float64 relative drift (the C# test widens its tolerance by it).
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

from zoo_reference import ZOO, compact_json, formula_fill, formula_input

TEACHER, STUDENT, CLASSES, BATCH = "resnet8x4", "resnet8", 10, 4
LABELS = [1, 7, 3, 0]
SETTINGS = {
    "ofd": ("ofd", {"beta": 0.7, "imagenet_scaling": 0, "teacher_train_mode": 1}),
    "london_cifar": ("london", {"beta": 0.7, "imagenet_scaling": 0, "teacher_train_mode": 1, "alpha": 1.3,
                                "power_iterations": 6, "random_start": 0}),
    "london_imagenet": ("london", {"beta": 1.0, "imagenet_scaling": 1, "teacher_train_mode": 1, "alpha": 2000.0,
                                   "power_iterations": 5, "random_start": 0}),
}
WATCHED = [
    "student.conv1.weight", "student.layer2.0.conv1.weight", "student.layer3.0.bn2.weight", "student.fc.weight",
    "Connectors.0.0.weight", "Connectors.1.1.weight", "Connectors.2.0.weight", "Connectors.2.1.bias",
]
WATCHED_TEACHER_STATS = ["layer1.0.bn2.running_mean", "layer3.0.bn2.running_var", "layer2.0.bn1.running_mean"]


def fill(shape, a, b, scale):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.float64)
    return (scale * torch.sin(a * i + b)).reshape(shape)


def connector_fills(student_channels, teacher_channels):
    """Connectors.i.0.weight [Ct, Cs, 1, 1]: 1.5/sqrt(Cs) sin(a k + b); the BN stays at weight 1, bias 0."""
    return {f"Connectors.{i}.0.weight": ([ct, cs, 1, 1], round(0.83 + 0.29 * i, 6), round(0.4 + 1.1 * i, 6), 1.5 / math.sqrt(cs))
            for i, (cs, ct) in enumerate(zip(student_channels, teacher_channels))}


def phi(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def margin(bn):
    out = []
    for g, b in zip(bn.weight.detach().double().tolist(), bn.bias.detach().double().tolist()):
        s = abs(g)
        out.append(b - s * phi(b / s) / cdf(-b / s) if cdf(-b / s) > 0.001 else -3 * s)
    return torch.tensor(out, dtype=torch.float64)


def partial_l2(s, t, m):
    target = torch.where(t > m.view(1, -1, 1, 1), t, m.view(1, -1, 1, 1).expand_as(t))
    keep = (s > target) | (target > 0)
    return torch.where(keep, (s - target) ** 2, torch.zeros_like(s)).sum()


def tm(a, b):
    k = a.shape[2] // b.shape[2]
    if k > 1:
        a = F.avg_pool2d(a, k)
    return torch.einsum("bchw,bdhw->bcd", a, b) / (b.shape[2] * b.shape[3])


def sigma(m, n):
    k = m @ m.transpose(1, 2)
    v = torch.ones(m.shape[0], m.shape[1], dtype=m.dtype)
    for _ in range(n):
        kv = torch.einsum("bij,bj->bi", k, v)
        size = kv.pow(2).sum(1, keepdim=True).sqrt()
        v = kv / size
    return size.squeeze(1).sqrt()


def step(dtype, method, s):
    teacher = ZOO[TEACHER](CLASSES, 3).to(dtype).train()
    student = ZOO[STUDENT](CLASSES, 3).to(dtype).train()
    formula_fill(teacher)
    formula_fill(student)
    x = formula_input((BATCH, 3, 32, 32)).to(dtype)
    y = torch.tensor(LABELS)
    sc, tc = student.channels[1:4], teacher.channels[1:4]
    fills = connector_fills(sc, tc)
    conn = {k: fill(*v).to(dtype).requires_grad_(True) for k, v in fills.items()}
    bn_w = {f"Connectors.{i}.1.weight": torch.ones(c, dtype=dtype, requires_grad=True) for i, c in enumerate(tc)}
    bn_b = {f"Connectors.{i}.1.bias": torch.zeros(c, dtype=dtype, requires_grad=True) for i, c in enumerate(tc)}
    modules = dict(teacher.named_modules())
    margins = [margin(modules[p]).to(dtype) for p in teacher.bn_before_relu()]

    with torch.no_grad():
        _, t_pre, _ = teacher(x)
    _, s_pre, logits = student(x)
    t_st, s_st = t_pre[1:4], s_pre[1:4]
    N = 3
    connected = []
    for i in range(N):
        z = F.conv2d(s_st[i], conn[f"Connectors.{i}.0.weight"])
        mu = z.mean((0, 2, 3), keepdim=True)
        var = z.var((0, 2, 3), unbiased=False, keepdim=True)
        connected.append((z - mu) / torch.sqrt(var + 1e-5) * bn_w[f"Connectors.{i}.1.weight"].view(1, -1, 1, 1)
                         + bn_b[f"Connectors.{i}.1.bias"].view(1, -1, 1, 1))
    imagenet = s["imagenet_scaling"] == 1
    terms = {"ce": F.cross_entropy(logits, y)}
    l_ofd = sum(partial_l2(connected[i], t_st[i], margins[i]) / 2 ** (N - 1 - i) for i in range(N))
    terms["ofd"] = s["beta"] * l_ofd / ((10000 if imagenet else 1000) * BATCH)
    if method == "london":
        n = s["power_iterations"]
        l_lip = sum(((sigma(tm(connected[i], s_st[i + 1]), n) - sigma(tm(t_st[i], t_st[i + 1]), n)) ** 2).mean()
                    / 2 ** (N - 1 - i) for i in range(N - 1))
        terms["lipschitz"] = s["alpha"] * l_lip / (10000 * BATCH if imagenet else 200)
    terms["total"] = sum(terms.values())

    params = dict(("student." + k, p) for k, p in student.named_parameters())
    params.update(conn)
    params.update(bn_w)
    params.update(bn_b)
    watched = [params[k] for k in WATCHED]
    grads = {}
    for name, value in terms.items():
        g = torch.autograd.grad(value, watched, retain_graph=True, allow_unused=True)
        grads[name] = {k: (None if gi is None or gi.abs().max() == 0 else gi.double().reshape(-1)) for k, gi in zip(WATCHED, g)}
    state = teacher.state_dict()
    stats = {k: state[k].double().reshape(-1) for k in WATCHED_TEACHER_STATS}
    return {k: float(v) for k, v in terms.items()}, grads, fills, stats, [m.tolist() for m in margins]


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = {"generator": "tests/reference/london_reference.py", "torch": torch.__version__,
           "teacher": TEACHER, "student": STUDENT, "classes": CLASSES, "input": [BATCH, 3, 32, 32], "labels": LABELS,
           "teacher_mode": "train", "student_mode": "train", "settings": {}}
    for key, (method, s) in SETTINGS.items():
        terms, grads, fills, stats, margins = step(torch.float64, method, s)
        terms32, grads32, _, _, _ = step(torch.float32, method, s)
        drift = 0.0
        for term, by_name in grads.items():
            for k, g in by_name.items():
                if g is not None:
                    drift = max(drift, float((grads32[term][k] - g).norm() / g.norm()))
        assert drift < 1e-2, (key, drift)
        out["settings"][key] = {
            "method": method, "parameters": s,
            "connector_fills": {k: {"shape": v[0], "a": v[1], "b": v[2], "scale": v[3]} for k, v in fills.items()},
            "margins": margins,
            "losses": terms,
            "float32_loss_drift": {k: abs(terms32[k] - v) / abs(v) for k, v in terms.items()},
            "float32_drift": drift,
            "grads": {t: {k: (None if g is None else [float(f"{e:.9g}") for e in g.tolist()]) for k, g in by.items()}
                      for t, by in grads.items()},
            "teacher_stats_after": {k: [float(f"{e:.9g}") for e in v.tolist()] for k, v in stats.items()},
        }
        print(key)
        for k, v in terms.items():
            print(f"  {k:10s} {v:+.9f}  (float32 {terms32[k]:+.9f})")
        print(f"  float32 drift of the gradients {drift:.1e}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "london.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
