#!/usr/bin/python3
"""Golden values for DistillSharp's mimkd: one whole training step of a small pair, from an independent transcription.

The method is restated here from its specification (docs: /work/shared/papers/mimkd.md and the XML documentation of
Losses/MutualInformation.cs), not from the C# code:

    L = gamma * CE(z_s, y) + alpha * T^2 * KL(softmax(z_t/T) || softmax(z_s/T))
        + beta_g * (-I_JSD(global)) + beta_l * (-I_JSD(local)),
    I_JSD = mean over positives of log sigmoid(T+) - mean over negatives of softplus(T-),

(log sigmoid(u) = -softplus(-u)). Global critic: cos(g_s(pooled_s), g_t(pooled_t)) / tau; local critic:
cos(l_s(pooled_s), l_t(map_t[:, :, h, w])) / tau at every position of the teacher map Features[local_stage], l_t
written as two 1x1 convolutions (tau = critic_temperature; the setting below uses 0.25, not the default). Each head is Linear(in, hidden) -> ReLU -> Linear(hidden, D). The negative of image i is the teacher
code of image i-1 (mod B), written as an explicit index permutation. Networks are zoo_reference.py's transcriptions
of RepDistiller, filled by its formula_fill; the critics by the fill below.

Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/mimkd_reference.py

It writes tests/reference/golden/mimkd.json: the setting, the critics' fills, every weighted loss term (float64),
and for each term and the total the gradient of a few named student and critic parameters (null where the term does
not reach the parameter), computed in float64. Conditioning checks: float32_loss_drift is each term's relative
float32-vs-float64 difference (the C# test widens its tolerance by it), float32_drift the largest relative error of
those gradients.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

from zoo_reference import ZOO, compact_json, formula_fill, formula_input

TEACHER, STUDENT, CLASSES, BATCH = "resnet8x4", "resnet8", 10, 4
LABELS = [1, 7, 3, 0]
SETTING = {"gamma": 0.9, "alpha": 0.6, "temperature": 3.0, "beta_global": 0.7, "beta_local": 1.3,
           "local_stage": 2, "feat_dim": 8, "hidden_dim": 16, "critic_temperature": 0.25}
# Weight scales of the critic heads, chosen so that the codes of different images point in different directions and
# the scores spread over a few units (not near 0, where softplus is nearly linear and a swapped or mis-rolled pair
# would hardly change the values).
HEAD_SCALES = {"global_student": 8.0, "global_teacher": 8.0, "local_student": 4.0, "local_teacher": 4.0}
WATCHED = [
    "student.conv1.weight", "student.layer3.0.bn2.weight", "student.layer3.0.bn2.bias", "student.fc.weight",
    "global_student.fc1.weight", "global_teacher.fc2.weight", "local_student.fc2.weight",
    "local_teacher.fc1.bias", "local_teacher.fc2.weight",
]


def fill(shape, a, b, scale):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.float64)
    return (scale * torch.sin(a * i + b)).reshape(shape)


def critic_fills(widths, hidden, dim):
    """name -> (shape, a, b, scale): weights HEAD_SCALES[head]/sqrt(fan_in), biases 0.1."""
    out = {}
    k = 0
    for head, width in widths:
        for layer, (cin, cout) in (("fc1", (width, hidden)), ("fc2", (hidden, dim))):
            for kind, shape in (("weight", [cout, cin]), ("bias", [cout])):
                scale = HEAD_SCALES[head] / math.sqrt(cin) if kind == "weight" else 0.1
                out[f"{head}.{layer}.{kind}"] = (shape, round(1.9 + 0.37 * k, 6), round(0.7 * k, 6), scale)
                k += 1
    return out


def calibrate(teacher, x):
    """Running statistics := the batch's (one train-mode pass at momentum 1), then eval mode. The formula fill's own
    statistics make the teacher's features nearly constant across images, which would leave the critics nothing to
    tell apart; with these the teacher in eval mode separates the images as the student in train mode does."""
    bns = [m for m in teacher.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.momentum = 1.0
    teacher.train()
    with torch.no_grad():
        teacher(x)
    for m in bns:
        m.momentum = 0.1
    teacher.eval()


def head(x, p, prefix):
    return F.linear(F.relu(F.linear(x, p[prefix + ".fc1.weight"], p[prefix + ".fc1.bias"])),
                    p[prefix + ".fc2.weight"], p[prefix + ".fc2.bias"])


def map_head(m, p, prefix):
    """The per-position head as 1x1 convolutions over a [B, C, H, W] map."""
    w1, w2 = p[prefix + ".fc1.weight"], p[prefix + ".fc2.weight"]
    y = F.relu(F.conv2d(m, w1.reshape(w1.shape[0], w1.shape[1], 1, 1), p[prefix + ".fc1.bias"]))
    return F.conv2d(y, w2.reshape(w2.shape[0], w2.shape[1], 1, 1), p[prefix + ".fc2.bias"])


def jsd(pos, neg):
    return F.logsigmoid(pos).mean() - F.softplus(neg).mean()


def step(dtype):
    s = SETTING
    teacher = ZOO[TEACHER](CLASSES, 3).to(dtype).eval()
    student = ZOO[STUDENT](CLASSES, 3).to(dtype).train()
    formula_fill(teacher)
    formula_fill(student)
    x = formula_input((BATCH, 3, 32, 32)).to(dtype)
    calibrate(teacher, x)
    y = torch.tensor(LABELS)
    stage = s["local_stage"]
    fills = critic_fills([("global_student", student.channels[-1]), ("global_teacher", teacher.channels[-1]),
                          ("local_student", student.channels[-1]), ("local_teacher", teacher.channels[stage])],
                         s["hidden_dim"], s["feat_dim"])
    critics = {k: fill(*v).to(dtype).requires_grad_(True) for k, v in fills.items()}

    with torch.no_grad():
        t_feats, _, t_logits = teacher(x)
    feats, _, logits = student(x)
    pooled = feats[-1]
    prev = torch.tensor([(i - 1) % BATCH for i in range(BATCH)])

    T = s["temperature"]
    terms = {
        "ce": s["gamma"] * F.cross_entropy(logits, y),
        "kd": s["alpha"] * F.kl_div(F.log_softmax(logits / T, 1), F.softmax(t_logits / T, 1), reduction="batchmean") * T * T,
    }
    tau = s["critic_temperature"]
    u, v = head(pooled, critics, "global_student"), head(t_feats[-1], critics, "global_teacher")
    terms["mi_global"] = -s["beta_global"] * jsd(F.cosine_similarity(u, v, dim=1) / tau,
                                                 F.cosine_similarity(u, v[prev], dim=1) / tau)
    u, vmap = head(pooled, critics, "local_student"), map_head(t_feats[stage], critics, "local_teacher")
    u, vmap = F.normalize(u, dim=1) / tau, F.normalize(vmap, dim=1)     # the code axis of the map is dim 1
    terms["mi_local"] = -s["beta_local"] * jsd(torch.einsum("bd,bdhw->bhw", u, vmap),
                                               torch.einsum("bd,bdhw->bhw", u, vmap[prev]))
    terms["total"] = sum(terms.values())

    params = dict(("student." + k, p) for k, p in student.named_parameters())
    params.update(critics)
    watched = [params[k] for k in WATCHED]
    grads = {}
    for name, value in terms.items():
        g = torch.autograd.grad(value, watched, retain_graph=True, allow_unused=True)
        grads[name] = {k: (None if gi is None else gi.double().reshape(-1)) for k, gi in zip(WATCHED, g)}
    return {k: float(v) for k, v in terms.items()}, grads, fills


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    terms, grads, fills = step(torch.float64)
    terms32, grads32, _ = step(torch.float32)
    drift = 0.0
    for term, by_name in grads.items():
        for k, g in by_name.items():
            if g is not None:
                drift = max(drift, float((grads32[term][k] - g).norm() / g.norm()))
    assert drift < 1e-3, drift
    out = {
        "generator": "tests/reference/mimkd_reference.py", "torch": torch.__version__,
        "teacher": TEACHER, "student": STUDENT, "classes": CLASSES, "input": [BATCH, 3, 32, 32], "labels": LABELS,
        "teacher_mode": "eval", "student_mode": "train",
        "parameters": SETTING,
        "critic_fills": {k: {"shape": v[0], "a": v[1], "b": v[2], "scale": v[3]} for k, v in fills.items()},
        "losses": terms,
        "float32_loss_drift": {k: abs(terms32[k] - v) / abs(v) for k, v in terms.items()},
        "float32_drift": drift,
        "grads": {t: {k: (None if g is None else [float(f"{e:.9g}") for e in g.tolist()]) for k, g in by.items()}
                  for t, by in grads.items()},
    }
    for k, v in terms.items():
        print(f"{k:10s} {v:+.9f}  (float32 {terms32[k]:+.9f})")
    print(f"float32 drift of the gradients {drift:.1e}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "mimkd.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
