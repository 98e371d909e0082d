#!/usr/bin/python3
"""Golden values for one whole training step of DistillSharp's distillers, from an independent PyTorch transcription.

The losses below restate, in PyTorch, what RepDistiller's train_distill computes for two of its methods:
  kd   DistillKL: T^2 * KL(softmax(z_t / T) || softmax(z_s / T)), summed over classes, averaged over the batch;
       loss = gamma * CE + alpha * KD
  crd  CRDLoss: Embed heads (linear, then L2 normalisation) on both pooled features, ContrastMemory (two momentum
       banks memory_v1 / memory_v2, student anchor against teacher rows and teacher anchor against student rows,
       scores exp(<row, anchor> / tau), the normalisation constants Z_v1 / Z_v2 fixed on the first batch as
       n_data * mean(scores), then the positives' slots moved to normalize(mu * row + (1 - mu) * embedding)), and
       ContrastLoss (NCE with noise 1 / n_data) on both sides;
       loss = gamma * CE + alpha * KD + beta * (NCE_s + NCE_t)
They were written for this project from the paper and the published behaviour; the C# test
(tests/DistillSharp.Tests/Distillers/DistillerStepTests.cs) builds the distillers through DistillerRegistry, applies
the same fill, runs TrainingStep on the same batch, backpropagates the total and compares with what is written here.

Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/distiller_steps.py

It writes tests/reference/golden/distiller_steps.json. Setting, shared by every case:
  networks        zoo_reference models, 10 classes, weights by zoo_reference.formula_fill; the student in train mode
                  (batch-norm statistics of the batch), the teacher in eval mode, as a training step runs them
  batch           16 images zoo_reference.formula_input((16, 3, 32, 32)), dataset indices BATCH of a training set
                  of N = 20 samples labelled TRAIN_LABELS; the batch's labels are TRAIN_LABELS[BATCH]. (With 4 or 8
                  of these images, the student's batch statistics are so ill-conditioned that float32 loses 1-3% of
                  some gradients against float64; with 16 the worst is 1.9e-3, the CRD student's first convolution, and the
                  median 1e-5.) The float32 runs use PyTorch's default NCHW layout: with channels-last, train-mode
                  batch statistics drift by up to 4e-2 (the C# test switches the zoo to NCHW for the same reason).
  CRD heads       embed_s.linear.weight = fill(0.23, 0.4, 1 / sqrt(fan_in)), embed_s.linear.bias = fill(0.31, 1.0, 0.1),
                  embed_t.linear.weight = fill(0.29, 2.1, 1 / sqrt(fan_in)), embed_t.linear.bias = fill(0.41, 0.3, 0.1)
  CRD banks       memory_v1 = fill(0.53, 0.7, s), memory_v2 = fill(0.61, 1.9, s), s = 1 / sqrt(feat_dim / 3) (the
                  range of the banks' uniform initialisation), written over the banks before the step
  negatives       the contrast indices are an input: CONTRAST below holds the [B, K + 1] indices that DistillSharp's
                  ClassNegativeSampler draws with the case's seed (the seed of the DistillerContext; they were
                  read once from the C# test's failure message). The C# test replays the sampler from the
                  generator state the distiller had before the step and checks that it draws exactly these.
  fill(a, b, s)   s * sin(a * i + b) over the row-major flat index i, in float64, stored as float32
Per case the file holds:
  losses          every weighted term under the C# distiller's name (ce, kd, crd), and total; loss_drift, total_drift
                  their float32 errors (relative)
  logits          the student's logits (row-major), logits_drift
  grads           for every trainable parameter (named as in the distiller: student.*, embed_s.*, embed_t.*):
                  norm, sketch (zoo_gradients.sketches: dot products with eight pseudo-random directions), entries
                  (first, middle, last) and drift (float32 error on the whole tensor, ||g32 - g64|| / ||g64||)
  full_grads      the whole gradient (row-major, flat) of a few parameters: the student's first convolution, the last
                  block's batch norm weight, the classifier, and the CRD heads
  contrast        the negatives used (CONTRAST)
  crd             z (Z_v1, Z_v2) and z_drift; memory_v1_rows / memory_v2_rows, the banks' rows BATCH after the step
                  (row-major), and memory_drift
  float32_drift   a summary: the largest float32-vs-float64 relative difference of the losses, of the logits, of a
                  gradient tensor (and which), and the median over the gradient tensors (float32 run on the same
                  float32 weights and inputs)
  mutants         the same step with one deliberate mistake each (a sign, a swapped bank, a detached term, ...):
                  how many quantities the rule below rejects, the worst, its relative error and how many times its
                  tolerance that is ("cosine" when a cosine rejects it); the script fails if the rule lets one pass
All golden values are computed in float64 from the float32 weights and inputs.
"""
import copy
import functools
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from zoo_gradients import r12, sketches
from zoo_reference import ZOO, compact_json, formula_fill, formula_input

NUM_CLASSES = 10
TRAIN_LABELS = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]
BATCH = [3, 10, 17, 4, 11, 18, 5, 12, 19, 6, 13, 0, 7, 14, 1, 8]

# The rule the C# test applies (it checks that this file states the same): a quantity whose float32 run drifts by
# d from the float64 one must be within max(FLOOR, DRIFT_FACTOR * d), relatively; gradient cosines >= MIN_COSINE.
# Every mutant below must break it.
FLOOR, DRIFT_FACTOR, MIN_COSINE = 1e-4, 10.0, 0.9999

CASES = [
    {"name": "kd", "method": "kd", "teacher": "resnet32x4", "student": "resnet8x4", "seed": 5, "parameters": {}},
    {"name": "crd", "method": "crd", "teacher": "resnet32x4", "student": "resnet8x4", "seed": 7,
     "parameters": {"feat_dim": 16, "nce_k": 5}},
    # pooled widths differ (128 and 256): a head built for the wrong side cannot even run; alpha > 0 adds the KD term
    {"name": "crd_kd_widths", "method": "crd", "teacher": "wrn_40_2", "student": "resnet8x4", "seed": 11,
     "parameters": {"feat_dim": 16, "nce_k": 5, "alpha": 1.0}},
]

# The contrast indices ClassNegativeSampler draws for BATCH with each case's seed (checked by the C# test).
CONTRAST = {
    "crd": [
        [3, 4, 8, 5, 2, 0], [10, 9, 1, 3, 5, 14], [17, 14, 11, 7, 10, 19], [4, 11, 1, 14, 6, 15],
        [11, 8, 17, 3, 10, 5], [18, 17, 12, 2, 15, 16], [5, 18, 11, 16, 1, 19], [12, 19, 11, 15, 2, 1],
        [19, 8, 5, 15, 10, 11], [6, 12, 0, 10, 7, 1], [13, 18, 4, 10, 16, 19], [0, 6, 5, 3, 13, 16],
        [7, 1, 19, 15, 11, 3], [14, 10, 0, 18, 11, 3], [1, 19, 16, 15, 12, 10], [8, 2, 12, 7, 18, 14],
    ],
    "crd_kd_widths": [
        [3, 4, 13, 2, 17, 18], [10, 16, 13, 6, 3, 17], [17, 8, 5, 2, 3, 14], [4, 11, 15, 19, 14, 13],
        [11, 2, 12, 17, 19, 10], [18, 4, 10, 16, 13, 0], [5, 19, 10, 8, 7, 16], [12, 19, 13, 15, 16, 2],
        [19, 17, 4, 6, 15, 10], [6, 7, 14, 15, 18, 9], [13, 8, 16, 12, 4, 14], [0, 13, 12, 2, 8, 18],
        [7, 16, 15, 18, 12, 11], [14, 17, 8, 10, 0, 19], [1, 8, 18, 7, 16, 2], [8, 1, 13, 14, 7, 12],
    ],
}

DEFAULTS = {
    "kd": {"gamma": 0.1, "alpha": 0.9, "temperature": 4.0},
    "crd": {"gamma": 1.0, "alpha": 0.0, "beta": 0.8, "temperature": 4.0, "feat_dim": 128, "nce_k": 16384,
            "nce_t": 0.07, "nce_m": 0.5},
}

FULL = ["student.conv1.weight", "student.layer3.0.bn2.weight", "student.fc.weight", "student.fc.bias",
        "embed_s.linear.weight", "embed_s.linear.bias", "embed_t.linear.weight", "embed_t.linear.bias"]

EPS = 1e-7


def fill(shape, a, b, scale=1.0):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.float64)
    return (scale * torch.sin(a * i + b)).reshape(shape).to(torch.float32)


# ------------------------------------------------------------------------------------------------------------------
# RepDistiller's distillation losses, restated
# ------------------------------------------------------------------------------------------------------------------
def distill_kl(z_s, z_t, temperature, mutant=None):
    log_q = F.log_softmax(z_s / temperature, dim=1)
    p = F.softmax(z_t / temperature, dim=1)
    if mutant == "kd: student logits detached":
        log_q = log_q.detach()
    if mutant == "kd: KL reversed":
        kl = F.kl_div(F.log_softmax(z_t / temperature, dim=1), F.softmax(z_s / temperature, dim=1), reduction="sum")
    else:
        kl = F.kl_div(log_q, p, reduction="sum")
    scale = 1.0 if mutant == "kd: no T^2" else temperature ** 2
    return kl * scale / z_s.shape[0]


class Embed(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.linear = nn.Linear(dim_in, dim_out)

    def forward(self, x):
        x = self.linear(x.view(x.shape[0], -1))
        return x / x.pow(2).sum(1, keepdim=True).pow(0.5)


class Memory(nn.Module):
    """The two momentum banks, with RepDistiller's buffer names."""

    def __init__(self, dim, n_data, k, tau, momentum):
        super().__init__()
        self.n_data, self.k, self.tau, self.momentum = n_data, k, tau, momentum
        self.register_buffer("params", torch.tensor([k, tau, -1.0, -1.0, momentum]))
        self.register_buffer("memory_v1", torch.zeros(n_data, dim))
        self.register_buffer("memory_v2", torch.zeros(n_data, dim))

    def forward(self, v1, v2, y, idx, mutant=None):
        b, cols = idx.shape
        dim = self.memory_v1.shape[1]
        bank_for_v1, bank_for_v2 = self.memory_v2, self.memory_v1
        if mutant == "crd: each anchor against its own bank":
            bank_for_v1, bank_for_v2 = self.memory_v1, self.memory_v2
        if mutant == "crd: banks updated before scoring":
            self.update(v1, v2, y)
        w2 = torch.index_select(bank_for_v1, 0, idx.view(-1)).detach().view(b, cols, dim)
        out_v1 = torch.exp(torch.bmm(w2, v1.view(b, dim, 1)) / self.tau)
        w1 = torch.index_select(bank_for_v2, 0, idx.view(-1)).detach().view(b, cols, dim)
        out_v2 = torch.exp(torch.bmm(w1, v2.view(b, dim, 1)) / self.tau)
        if self.params[2].item() < 0:
            self.params[2] = out_v1.mean() * self.n_data
        if self.params[3].item() < 0:
            self.params[3] = out_v2.mean() * self.n_data
        z1, z2 = self.params[2].item(), self.params[3].item()
        if mutant == "crd: Z_v1 and Z_v2 swapped":
            z1, z2 = z2, z1
        out_v1 = (out_v1 / z1).contiguous()
        out_v2 = (out_v2 / z2).contiguous()
        if mutant != "crd: banks updated before scoring":
            self.update(v1, v2, y, renormalize=mutant != "crd: bank rows not renormalized")
        return out_v1.squeeze(2), out_v2.squeeze(2)

    def update(self, v1, v2, y, renormalize=True):
        with torch.no_grad():
            for bank, v in ((self.memory_v1, v1), (self.memory_v2, v2)):
                pos = torch.index_select(bank, 0, y.view(-1)) * self.momentum + v * (1 - self.momentum)
                if renormalize:
                    pos = pos / pos.pow(2).sum(1, keepdim=True).pow(0.5)
                bank.index_copy_(0, y, pos)


def contrast_loss(x, n_data):
    """NCE of CRD eq. 18: the positive (column 0) against m = K noise samples of probability 1 / n_data each."""
    bsz, m = x.shape[0], x.shape[1] - 1
    pn = 1.0 / n_data
    p_pos = x.select(1, 0)
    log_d1 = torch.log(p_pos / (p_pos + m * pn + EPS))
    p_neg = x.narrow(1, 1, m)
    log_d0 = torch.log(torch.full_like(p_neg, m * pn) / (p_neg + m * pn + EPS))
    return -(log_d1.sum(0) + log_d0.view(-1, 1).sum(0)) / bsz


class CRD(nn.Module):
    def __init__(self, s_dim, t_dim, dim, n_data, k, tau, momentum):
        super().__init__()
        self.embed_s = Embed(s_dim, dim)
        self.embed_t = Embed(t_dim, dim)
        self.contrast = Memory(dim, n_data, k, tau, momentum)
        self.n_data = n_data

    def forward(self, f_s, f_t, idx, contrast_idx, mutant=None):
        if mutant == "crd: heads swapped":
            e_s, e_t = self.embed_t(f_s), self.embed_s(f_t)
        else:
            e_s, e_t = self.embed_s(f_s), self.embed_t(f_t)
        if mutant == "crd: teacher embedding detached":
            e_t = e_t.detach()
        out_s, out_t = self.contrast(e_s, e_t, idx, contrast_idx, mutant)
        return (contrast_loss(out_s, self.n_data) + contrast_loss(out_t, self.n_data)).squeeze()


# ------------------------------------------------------------------------------------------------------------------
# One training step
# ------------------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def built(name):
    return build(next(c for c in CASES if c["name"] == name))


def build(case):
    """float32 networks, heads and banks, filled: the same values the C# test writes."""
    settings = dict(DEFAULTS[case["method"]])
    settings.update(case["parameters"])
    teacher = ZOO[case["teacher"]](NUM_CLASSES, 3)
    student = ZOO[case["student"]](NUM_CLASSES, 3)
    formula_fill(teacher)
    formula_fill(student)
    crd = None
    if case["method"] == "crd":
        dim = int(settings["feat_dim"])
        s_dim, t_dim = student.channels[-1], teacher.channels[-1]
        crd = CRD(s_dim, t_dim, dim, len(TRAIN_LABELS), int(settings["nce_k"]), settings["nce_t"], settings["nce_m"])
        with torch.no_grad():
            crd.embed_s.linear.weight.copy_(fill((dim, s_dim), 0.23, 0.4, 1 / math.sqrt(s_dim)))
            crd.embed_s.linear.bias.copy_(fill((dim,), 0.31, 1.0, 0.1))
            crd.embed_t.linear.weight.copy_(fill((dim, t_dim), 0.29, 2.1, 1 / math.sqrt(t_dim)))
            crd.embed_t.linear.bias.copy_(fill((dim,), 0.41, 0.3, 0.1))
            stdv = 1 / math.sqrt(dim / 3)
            crd.contrast.memory_v1.copy_(fill((len(TRAIN_LABELS), dim), 0.53, 0.7, stdv))
            crd.contrast.memory_v2.copy_(fill((len(TRAIN_LABELS), dim), 0.61, 1.9, stdv))
    return settings, teacher, student, crd


def step(case, dtype, mutant=None):
    settings, teacher, student, crd = built(case["name"])
    teacher, student = copy.deepcopy(teacher).to(dtype).eval(), copy.deepcopy(student).to(dtype).train()
    if crd is not None:
        crd = copy.deepcopy(crd).to(dtype).train()
        if mutant == "crd: heads swapped" and crd.embed_s.linear.weight.shape != crd.embed_t.linear.weight.shape:
            return None
    x = formula_input((len(BATCH), 3, 32, 32)).to(dtype)
    idx = torch.tensor(BATCH)
    y = torch.tensor([TRAIN_LABELS[i] for i in BATCH])

    feats_s, _, z_s = student(x)
    with torch.no_grad():
        feats_t, _, z_t = teacher(x)
    losses = {"ce": settings["gamma"] * F.cross_entropy(z_s, y)}
    if case["method"] == "kd" or settings["alpha"] > 0:
        losses["kd"] = settings["alpha"] * distill_kl(z_s, z_t, settings["temperature"], mutant)
    if crd is not None:
        contrast_idx = torch.tensor(CONTRAST[case["name"]])
        losses["crd"] = settings["beta"] * crd(feats_s[-1], feats_t[-1].detach(), idx, contrast_idx, mutant)
    sign = {"kd: term negated": ("kd", -1.0), "crd: term negated": ("crd", -1.0)}.get(mutant)
    total = sum(-v if sign and k == sign[0] else v for k, v in losses.items())
    total.backward()

    params = [("student." + k, p) for k, p in student.named_parameters()]
    if crd is not None:
        params += [(k, p) for k, p in crd.named_parameters()]
    grads = {k: (p.grad.detach().double().reshape(-1) if p.grad is not None else torch.zeros(p.numel(), dtype=torch.float64))
             for k, p in params}
    out = {"losses": {k: float(v) for k, v in losses.items()}, "total": float(total),
           "logits": z_s.detach().double(), "grads": grads}
    if crd is not None:
        out["z"] = [float(crd.contrast.params[2]), float(crd.contrast.params[3])]
        out["memory_v1_rows"] = crd.contrast.memory_v1[idx].double()
        out["memory_v2_rows"] = crd.contrast.memory_v2[idx].double()
    return out


def relative(a, b):
    nb = float(b.norm())
    return float((a - b).norm()) / nb if nb > 0 else float((a - b).norm())


def cosine(a, b):
    na, nb = float(a.norm()), float(b.norm())
    return float(torch.dot(a, b)) / (na * nb) if na > 0 and nb > 0 else 0.0


def quantities(run):
    """Every compared quantity of a step as a float64 vector, by name."""
    q = {"loss." + k: torch.tensor([v], dtype=torch.float64) for k, v in run["losses"].items()}
    q["total"] = torch.tensor([run["total"]], dtype=torch.float64)
    q["logits"] = run["logits"].reshape(-1)
    q.update({"grad." + k: g for k, g in run["grads"].items()})
    for b in ("memory_v1_rows", "memory_v2_rows"):
        if b in run:
            q[b] = run[b].reshape(-1)
    if "z" in run:
        q["z"] = torch.tensor(run["z"], dtype=torch.float64)
    return q


def tolerance(drift):
    return max(FLOOR, DRIFT_FACTOR * drift)


def rejected(run, ref, drift):
    """How the rule rejects a mutant's step: the quantities off by more than their tolerance, worst first."""
    got, want = quantities(run), quantities(ref)
    off = []
    for k, w in want.items():
        g = got.get(k, torch.zeros_like(w))
        err = relative(g, w)
        if err > tolerance(drift[k]):
            off.append((err / tolerance(drift[k]), k, err))
        elif k.startswith("grad.") and float(w.norm()) > 0 and cosine(g, w) < MIN_COSINE:
            off.append((float("inf"), k, err))
    off.sort(reverse=True)
    return off


MUTANTS = {
    "kd": ["kd: term negated", "kd: no T^2", "kd: KL reversed", "kd: student logits detached"],
    "crd": ["crd: term negated", "crd: each anchor against its own bank", "crd: heads swapped",
            "crd: teacher embedding detached", "crd: Z_v1 and Z_v2 swapped", "crd: banks updated before scoring",
            "crd: bank rows not renormalized"],
}


def values(t, digits=10):
    return [float(f"{v:.{digits}g}") for v in t.reshape(-1).tolist()]


def check_contrast(name, k):
    """The negatives are valid CRD draws: column 0 the positive, then k distinct samples of other classes."""
    rows = CONTRAST[name]
    assert len(rows) == len(BATCH), name
    for b, row in zip(BATCH, rows):
        assert row[0] == b and len(row) == k + 1 and len(set(row[1:])) == k, (name, row)
        assert all(TRAIN_LABELS[j] != TRAIN_LABELS[b] for j in row[1:]), (name, row)


def run_case(case):
    if case["method"] == "crd":
        check_contrast(case["name"], int(case["parameters"]["nce_k"]))
    ref = step(case, torch.float64)
    f32 = step(case, torch.float32)
    want, got = quantities(ref), quantities(f32)
    drift = {k: relative(got[k], w) for k, w in want.items()}
    rec = {
        "method": case["method"], "teacher": case["teacher"], "student": case["student"], "seed": case["seed"],
        "parameters": case["parameters"],
        "losses": ref["losses"], "total": ref["total"],
        "loss_drift": {k: r12(drift["loss." + k]) for k in ref["losses"]},
        "total_drift": r12(drift["total"]),
        "logits": values(ref["logits"], 12), "logits_drift": r12(drift["logits"]),
    }
    grads = {}
    for k, g in ref["grads"].items():
        n = g.numel()
        grads[k] = {"norm": float(g.norm()), "sketch": [r12(v) for v in sketches(g)[0]],
                    "entries": [r12(float(g[0])), r12(float(g[n // 2])), r12(float(g[n - 1]))],
                    "drift": r12(drift["grad." + k])}
    rec["grads"] = grads
    rec["full_grads"] = {k: values(ref["grads"][k]) for k in FULL if k in ref["grads"]}
    if case["method"] == "crd":
        rec["contrast"] = CONTRAST[case["name"]]
        rec["crd"] = {"z": ref["z"], "z_drift": r12(drift["z"]),
                      "memory_v1_rows": values(ref["memory_v1_rows"], 12), "memory_v2_rows": values(ref["memory_v2_rows"], 12),
                      "memory_drift": r12(max(drift["memory_v1_rows"], drift["memory_v2_rows"]))}
    grad_drifts = {k: v for k, v in drift.items() if k.startswith("grad.")}
    worst = max(grad_drifts, key=grad_drifts.get)
    rec["float32_drift"] = {"losses": r12(max(v for k, v in drift.items() if k.startswith("loss.") or k == "total")),
                            "logits": r12(drift["logits"]), "worst_gradient": worst[5:], "gradients": r12(grad_drifts[worst]),
                            "median_gradient": r12(sorted(grad_drifts.values())[len(grad_drifts) // 2])}
    mutants = {}
    for mutant in MUTANTS[case["method"]] + (MUTANTS["kd"] if case["method"] == "crd" and "kd" in ref["losses"] else []):
        run = step(case, torch.float64, mutant)
        if run is None:
            mutants[mutant] = "cannot run: the heads' input widths differ"
            continue
        off = rejected(run, ref, drift)
        assert off, (case["name"], mutant, "passes the rule")
        mutants[mutant] = {"rejected_quantities": len(off), "worst": off[0][1],
                           "error": r12(off[0][2]), "times_tolerance": r12(off[0][0]) if math.isfinite(off[0][0]) else "cosine"}
    rec["mutants"] = mutants
    return rec


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = {"generator": "tests/reference/distiller_steps.py", "torch": torch.__version__,
           "rule": {"floor": FLOOR, "drift_factor": DRIFT_FACTOR, "min_cosine": MIN_COSINE},
           "num_classes": NUM_CLASSES, "train_labels": TRAIN_LABELS, "batch": BATCH,
           "images": [len(BATCH), 3, 32, 32], "cases": {}}
    for case in CASES:
        rec = run_case(case)
        out["cases"][case["name"]] = rec
        print(f"{case['name']:14s} {case['teacher']} -> {case['student']}: losses "
              + ", ".join(f"{k} {v:.6f}" for k, v in rec["losses"].items()) + f"  total {rec['total']:.6f}")
        print(f"{'':14s} float32 drift {rec['float32_drift']}")
        sys.stdout.flush()
        for k, v in rec["mutants"].items():
            print(f"{'':14s} mutant {k}: {v}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "distiller_steps.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    sys.exit(main())
