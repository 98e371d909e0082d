#!/usr/bin/python3
"""Golden values for DistillSharp's wcord: one whole training step of a small pair, from an independent transcription.

The method is restated here from its specification (/work/shared/papers/wcord.md and the XML documentation of
Losses/WassersteinContrastive.cs, Losses/Sinkhorn.cs and Distillers/WassersteinContrastiveDistiller.cs), not from the
C# code:

    L = gamma * CE(z_s, y) + alpha * T^2 * KL(softmax(z_t/T) || softmax(z_s/T))
        + lambda_g * (L_dual(student anchor) + L_dual(teacher anchor)) + gp_weight * P + lambda_l * L_local.

Global term. e_s = normalize(W_s s + b_s), e_t = normalize(W_t t + b_t) on the pooled features; the student anchor
is scored against the teacher bank's rows at [positive, negatives], the teacher anchor against the student bank's:
g = <row, anchor> / tau. L_dual is the InfoNCE cross-entropy of column 0 (global_form 0) or mean(negatives) -
mean(positives) (global_form 1). The banks move after scoring: m <- normalize(mu m + (1 - mu) e) at the batch's slots.
Negatives are fixed: the training set has two samples of each of four classes and K = 6, so the negatives of a sample
are all six samples of the other classes (the sampler's draw without replacement is then that set, in some order;
every quantity here is invariant to the order).
Lipschitz constraint, case "gp_contrastive": P = mean_b max(0, |grad_(t_b, s_b) g(t_b, s_b)| - 1)^2 at the positive
pairs, g(t, s) = <e_t(t), e_s(s)> / tau, written here in closed form (not by autograd): for e = normalize(z),
z = W x + b, d<e, c>/dx = W^T (I - e e^T) c / |z|. Case "sn_kantorovich": both heads' W divided by sigma = u^T W v
after one power iteration v = normalize(W^T u), u = normalize(W v) from the filled u (no penalty term).
Local term: p = normalize(W_l s + b_l) (student to the teacher's width), C_ij = 1 - cos(t_i, p_j), the plan by plain
(not log-space) Sinkhorn scaling in float64 from v = 1: u = a / (K v), v = b / (K^T u), K = exp(-C / eps), plan =
diag(u) K diag(v), held constant; L_local = sum(plan * C).

Networks are zoo_reference.py's transcriptions of RepDistiller, filled by its formula_fill, the teacher's statistics
calibrated as in mimkd_reference.py; heads, banks and singular vectors by the fill below.

Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/wcord_reference.py

It writes tests/reference/golden/wcord.json: the setting, the fills, every weighted loss term, for each term the
gradient of a few named parameters (null where the term does not reach one), the banks' rows after the step, all in
float64, and float32 drifts (each term's relative float32-vs-float64 difference, and the largest of the gradients').
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

from zoo_reference import ZOO, compact_json, formula_fill, formula_input
from mimkd_reference import calibrate

TEACHER, STUDENT, CLASSES = "resnet8x4", "resnet8", 10
TRAIN_LABELS = [1, 7, 3, 0, 1, 7, 3, 0]
BATCH = [5, 2, 7, 0]
COMMON = {"gamma": 0.9, "alpha": 0.6, "temperature": 3.0, "lambda_global": 0.7, "feat_dim": 8, "nce_k": 6,
          "nce_t": 0.3, "nce_m": 0.4, "gp_weight": 2.5, "lambda_local": 1.3, "sinkhorn_epsilon": 0.1,
          "sinkhorn_iterations": 30}
CASES = {
    "gp_contrastive": dict(COMMON, global_form=0, lipschitz=1),
    "sn_kantorovich": dict(COMMON, global_form=1, lipschitz=2),
}
HEAD_FILLS = {  # name -> (a, b, scale factor before 1/sqrt(fan_in) for weights; biases scale 0.1)
    "embed_s.linear": (0.23, 0.4, 3.0),
    "embed_t.linear": (0.29, 2.1, 3.0),
    "embed_local.linear": (0.17, 1.1, 1.0),
}
BANK_FILLS = {"contrast.memory_v1": (0.53, 0.7), "contrast.memory_v2": (0.61, 1.9)}
VECTOR_FILLS = {"embed_s.weight_u": (0.71, 0.2), "embed_s.weight_v": (0.43, 0.9),
                "embed_t.weight_u": (0.37, 1.4), "embed_t.weight_v": (0.83, 0.5)}
WATCHED = ["student.conv1.weight", "student.layer3.0.bn2.weight", "student.fc.weight",
           "embed_s.linear.weight", "embed_t.linear.weight", "embed_t.linear.bias",
           "embed_local.linear.bias", "embed_local.linear.weight"]
PREFIX = {"embed_local.linear.weight": 256}   # only the first entries of this 256 x 64 gradient are stored


def fill(shape, a, b, scale):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.float64)
    return (scale * torch.sin(a * i + b)).reshape(shape)


def normalize(x, dim):
    return x / x.norm(dim=dim, keepdim=True).clamp_min(1e-12)


def head_fills(widths, dim):
    out = {}
    for name, (cin, cout) in widths.items():
        a, b, s = HEAD_FILLS[name]
        out[name + ".weight"] = ([cout, cin], a, b, s / math.sqrt(cin))
        out[name + ".bias"] = ([cout], a + 0.11, b + 0.3, 0.1)
    return out


def dual(g, form):
    if form == 0:
        return (torch.logsumexp(g, 1) - g[:, 0]).mean()
    return g[:, 1:].mean() - g[:, 0].mean()


def slope_of_embedding(w, z, e, c):
    """d<normalize(z), c>/dx for z = W x + b, row by row: W^T (I - e e^T) c / |z|."""
    proj = c - (e * c).sum(1, keepdim=True) * e
    return (proj / z.norm(dim=1, keepdim=True)) @ w


def step(dtype, s):
    teacher = ZOO[TEACHER](CLASSES, 3).to(dtype).eval()
    student = ZOO[STUDENT](CLASSES, 3).to(dtype).train()
    formula_fill(teacher)
    formula_fill(student)
    x = formula_input((len(BATCH), 3, 32, 32)).to(dtype)
    calibrate(teacher, x)
    labels = torch.tensor(TRAIN_LABELS)
    idx = torch.tensor(BATCH)
    y = labels[idx]
    dim, tau, mu = s["feat_dim"], s["nce_t"], s["nce_m"]
    sw, tw = student.channels[-1], teacher.channels[-1]
    fills = head_fills({"embed_s.linear": (sw, dim), "embed_t.linear": (tw, dim), "embed_local.linear": (sw, tw)}, dim)
    p = {k: fill(*v).to(dtype).requires_grad_(True) for k, v in fills.items()}
    stdv = 1.0 / math.sqrt(dim / 3.0)
    banks = {k: fill([len(TRAIN_LABELS), dim], a, b, stdv).to(dtype) for k, (a, b) in BANK_FILLS.items()}
    vectors = {}
    if s["lipschitz"] == 2:
        for k, (a, b) in VECTOR_FILLS.items():
            n = dim if k.endswith("_u") else (sw if k.startswith("embed_s") else tw)
            vectors[k] = normalize(fill([1, n], a, b, 1.0).to(dtype), 1)[0]

    with torch.no_grad():
        t_feats, _, t_logits = teacher(x)
    feats, _, logits = student(x)
    pooled, t_pooled = feats[-1], t_feats[-1]

    def weight(side):
        w = p[f"embed_{side}.linear.weight"]
        if s["lipschitz"] != 2:
            return w, {}
        u = vectors[f"embed_{side}.weight_u"]
        with torch.no_grad():
            v = normalize((w.t() @ u)[None], 1)[0]
            u = normalize((w @ v)[None], 1)[0]
        return w / torch.dot(u, w @ v), {f"embed_{side}.weight_u": u, f"embed_{side}.weight_v": v}

    ws, new_s = weight("s")
    wt, new_t = weight("t")
    zs = pooled @ ws.t() + p["embed_s.linear.bias"]
    zt = t_pooled @ wt.t() + p["embed_t.linear.bias"]
    es, et = normalize(zs, 1), normalize(zt, 1)

    contrast = []
    for i in BATCH:
        contrast.append([i] + [j for j in range(len(TRAIN_LABELS)) if TRAIN_LABELS[j] != TRAIN_LABELS[i]])
    contrast = torch.tensor(contrast)
    assert contrast.shape[1] == s["nce_k"] + 1
    rows_t = banks["contrast.memory_v2"][contrast]     # [B, K+1, D], the teacher bank for the student anchor
    rows_s = banks["contrast.memory_v1"][contrast]
    g_s = torch.einsum("bkd,bd->bk", rows_t, es) / tau
    g_t = torch.einsum("bkd,bd->bk", rows_s, et) / tau

    T = s["temperature"]
    terms = {
        "ce": s["gamma"] * F.cross_entropy(logits, y),
        "kd": s["alpha"] * F.kl_div(F.log_softmax(logits / T, 1), F.softmax(t_logits / T, 1), reduction="batchmean") * T * T,
        "wcord_global": s["lambda_global"] * (dual(g_s, s["global_form"]) + dual(g_t, s["global_form"])),
    }
    slopes = None
    if s["lipschitz"] == 1:
        sd, td = pooled.detach(), t_pooled.detach()
        zs2 = sd @ p["embed_s.linear.weight"].t() + p["embed_s.linear.bias"]
        zt2 = td @ p["embed_t.linear.weight"].t() + p["embed_t.linear.bias"]
        es2, et2 = normalize(zs2, 1), normalize(zt2, 1)
        grad_s = slope_of_embedding(p["embed_s.linear.weight"], zs2, es2, et2) / tau
        grad_t = slope_of_embedding(p["embed_t.linear.weight"], zt2, et2, es2) / tau
        slopes = torch.cat([grad_t, grad_s], 1).norm(dim=1)
        terms["lipschitz"] = s["gp_weight"] * F.relu(slopes - 1).pow(2).mean()

    proj = normalize(pooled @ p["embed_local.linear.weight"].t() + p["embed_local.linear.bias"], 1)
    cost = 1 - normalize(t_pooled, 1) @ proj.t()
    with torch.no_grad():
        c64 = cost.detach().double()
        kernel = torch.exp(-c64 / s["sinkhorn_epsilon"])
        n, m = c64.shape
        v = torch.ones(m, dtype=torch.float64)
        for _ in range(s["sinkhorn_iterations"]):
            u = (1.0 / n) / (kernel @ v)
            v = (1.0 / m) / (kernel.t() @ u)
        plan = (u[:, None] * kernel * v[None, :]).to(dtype)
    terms["wcord_local"] = s["lambda_local"] * (plan * cost).sum()
    terms["total"] = sum(terms.values())

    with torch.no_grad():
        new_rows = {}
        for bank, e in (("contrast.memory_v1", es), ("contrast.memory_v2", et)):
            mixed = mu * banks[bank][idx] + (1 - mu) * e
            new_rows[bank] = normalize(mixed, 1)

    params = dict(("student." + k, q) for k, q in student.named_parameters())
    params.update(p)
    watched = [params[k] for k in WATCHED]
    grads = {}
    for name, value in terms.items():
        g = torch.autograd.grad(value, watched, retain_graph=True, allow_unused=True)
        grads[name] = {}
        for k, gi in zip(WATCHED, g):
            if gi is None or float(gi.abs().max()) == 0.0:
                grads[name][k] = None
            else:
                grads[name][k] = gi.double().reshape(-1)[:PREFIX.get(k, gi.numel())]
    extra = {"slopes": None if slopes is None else slopes.detach().double().tolist(),
             "plan_row_sums": plan.double().sum(1).tolist()}
    return ({k: float(v) for k, v in terms.items()}, grads, fills, new_rows, vectors, new_s | new_t, extra)


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = {"generator": "tests/reference/wcord_reference.py", "torch": torch.__version__,
           "teacher": TEACHER, "student": STUDENT, "classes": CLASSES, "train_labels": TRAIN_LABELS, "batch": BATCH,
           "teacher_mode": "eval", "student_mode": "train", "prefix": PREFIX, "cases": {}}
    for case, setting in CASES.items():
        terms, grads, fills, rows, vectors, new_vectors, extra = step(torch.float64, setting)
        terms32, grads32, _, rows32, _, _, _ = step(torch.float32, setting)
        drift = 0.0
        for term, by_name in grads.items():
            for k, g in by_name.items():
                if g is not None:
                    drift = max(drift, float((grads32[term][k].double() - g).norm() / g.norm()))
        assert drift < 1e-3, (case, drift)
        if extra["slopes"] is not None:
            # The penalty must be active (some slopes above 1) and not everywhere (some below).
            assert min(extra["slopes"]) < 1 < max(extra["slopes"]), extra["slopes"]
        out["cases"][case] = {
            "parameters": setting,
            "fills": {k: {"shape": v[0], "a": v[1], "b": v[2], "scale": v[3]} for k, v in fills.items()},
            "bank_fills": {k: {"a": a, "b": b} for k, (a, b) in BANK_FILLS.items()},
            "vectors": {k: v.tolist() for k, v in vectors.items()},
            "vectors_after": {k: v.detach().double().tolist() for k, v in new_vectors.items()},
            "losses": terms,
            "float32_loss_drift": {k: abs(terms32[k] - v) / abs(v) for k, v in terms.items()},
            "float32_drift": drift,
            "rows_after": {k: v.double().reshape(-1).tolist() for k, v in rows.items()},
            "slopes": extra["slopes"],
            "grads": {t: {k: (None if g is None else [float(f"{e:.9g}") for e in g.tolist()]) for k, g in by.items()}
                      for t, by in grads.items()},
        }
        print(case)
        for k, v in terms.items():
            print(f"  {k:13s} {v:+.9f}  (float32 {terms32[k]:+.9f})")
        print(f"  float32 drift of the gradients {drift:.1e}; slopes {extra['slopes']}; plan rows {extra['plan_row_sums']}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "wcord.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    sys.exit(main())
