#!/usr/bin/python3
"""Golden values for DistillSharp's online multi-branch methods `one` and `ffm-cd`: one training step each, from an
independent transcription.

The methods are restated here from their specification (/work/shared/papers/multibranch.md, the ONE model of OKDDip's
models/model_cifar/resnet_one.py as that spec describes it, and the XML documentation of
Distillers/MultiBranchDistiller.cs), not from the C# code:

    trunk: conv 3x3 + BN + ReLU, stage 1, stage 2 of a CIFAR ResNet (zoo_reference.py's blocks);
    branch i: its own stage 3, global average pool, Linear -> z_i;
    gate (ONE):  g = softmax(relu(BN1d(Linear(avgpool(stage-2 output)))));
    gate (FFM):  g = softmax(Linear(avgpool(relu(BN2d(conv_k(concat_i map_i))))));
    z_e = sum_i g_i z_i;
    L = sum_i CE(z_i, y) + CE(z_e, y) + alpha * w * sum_i T^2 KL(softmax(z_e/T) || softmax(z_i/T))
        + lambda_CD * sum_{i<j} ||W_i W_j^T||_F,
    w = exp(-5 (1 - min(t, L)/L)^2), t = epoch - 1, L = rampup_fraction * epochs.

KL is written out as sum p (log p - log q) / B (F.kl_div is not used), the CD loss as the square root of the sum of the
squared entries of each pair's product, and the ensemble as an explicit loop over branches.

Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/multibranch_reference.py

It writes tests/reference/golden/multibranch.json: per case, the settings, the ordered state-dict keys of the whole
method (network.* then gate.* or ffm.*; the C# test fills its own state with zoo_reference.py's formula_fill in that
order and checks the keys), every weighted loss term in float64, the gate and both ensembles, and for each term the
gradient of a few named parameters (null where the term does not reach the parameter). float32_loss_drift and
float32_grad_drift are PyTorch's own relative float32-vs-float64 differences of each term and each gradient (the
first convolution's, under batch statistics of four smooth images, is the worst conditioned); the C# test widens its
tolerances by them. Networks run in train mode
(batch statistics), as a training step runs them.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from zoo_reference import Basic, compact_json, formula_fill, formula_input, make_stage, run_stage

DEPTH, WIDTHS, CLASSES, BATCH, BRANCHES = 8, [16, 16, 32, 64], 10, 4, 3
LABELS = [1, 7, 3, 0]
EPOCH, EPOCHS = 2, 10
COMMON = {"branches": BRANCHES, "temperature": 3.0, "alpha": 0.7, "rampup_fraction": 0.3}
CASES = {
    "one": dict(COMMON),
    "ffm-cd": dict(COMMON, ffm=1, ffm_channels=8, ffm_radius=1, cd_weight=0.05),
}
WATCHED = [
    "network.conv1.weight", "network.layer2.0.conv1.weight", "network.layer3_0.0.conv2.weight",
    "network.layer3_2.0.bn2.bias", "network.classifier3_1.weight", "network.classifier3_1.bias",
]
GATE_WATCHED = {"one": ["gate.control_v1.weight", "gate.bn_v1.weight"], "ffm-cd": ["ffm.conv.weight", "ffm.bn.weight", "ffm.fc.weight"]}


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        n = (DEPTH - 2) // 6
        self.conv1 = nn.Conv2d(3, WIDTHS[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(WIDTHS[0])
        self.layer1, c = make_stage(Basic, WIDTHS[0], WIDTHS[1], n, 1, "downsample")
        self.layer2, c = make_stage(Basic, c, WIDTHS[2], n, 2, "downsample")
        for i in range(BRANCHES):
            stage, out = make_stage(Basic, c, WIDTHS[3], n, 2, "downsample")
            setattr(self, f"layer3_{i}", stage)
            setattr(self, f"classifier3_{i}", nn.Linear(out, CLASSES))

    def forward(self, x):
        s, _ = run_stage(self.layer2, run_stage(self.layer1, F.relu(self.bn1(self.conv1(x))))[0])
        maps, logits = [], []
        for i in range(BRANCHES):
            m, _ = run_stage(getattr(self, f"layer3_{i}"), s)
            maps.append(m)
            logits.append(getattr(self, f"classifier3_{i}")(m.mean(dim=(2, 3))))
        return s, maps, logits


class OneGate(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.control_v1 = nn.Linear(channels, BRANCHES)
        self.bn_v1 = nn.BatchNorm1d(BRANCHES)

    def forward(self, s, maps):
        return F.softmax(F.relu(self.bn_v1(self.control_v1(s.mean(dim=(2, 3))))), dim=1)


class Fusion(nn.Module):
    def __init__(self, channels, fused, k):
        super().__init__()
        self.conv = nn.Conv2d(BRANCHES * channels, fused, k, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(fused)
        self.fc = nn.Linear(fused, BRANCHES)

    def forward(self, s, maps):
        y = F.relu(self.bn(self.conv(torch.cat(maps, dim=1))))
        return F.softmax(self.fc(y.mean(dim=(2, 3))), dim=1)


class Method(nn.Module):
    def __init__(self, case):
        super().__init__()
        self.network = Network()
        if case == "one":
            self.gate = OneGate(WIDTHS[2])
        else:
            s = CASES[case]
            self.ffm = Fusion(WIDTHS[3], s["ffm_channels"], 2 * s["ffm_radius"] + 1)

    def forward(self, x):
        s, maps, logits = self.network(x)
        g = (self.gate if hasattr(self, "gate") else self.ffm)(s, maps)
        return logits, g


def kl(p_logits, q_logits, T):
    logp = F.log_softmax(p_logits / T, dim=1)
    logq = F.log_softmax(q_logits / T, dim=1)
    return (logp.exp() * (logp - logq)).sum() / p_logits.shape[0]


def step(case, dtype):
    s = CASES[case]
    method = Method(case).to(dtype).train()
    formula_fill(method)
    x = formula_input((BATCH, 3, 32, 32)).to(dtype)
    y = torch.tensor(LABELS)
    logits, g = method(x)
    ensemble = sum(g[:, i:i + 1] * logits[i] for i in range(BRANCHES))
    T = s["temperature"]
    L = s["rampup_fraction"] * EPOCHS
    w = math.exp(-5.0 * (1.0 - min(EPOCH - 1, L) / L) ** 2)
    terms = {
        "ce": sum(F.cross_entropy(z, y) for z in logits),
        "ce_ensemble": F.cross_entropy(ensemble, y),
        "kl": s["alpha"] * w * sum(T * T * kl(ensemble, z, T) for z in logits),
    }
    if s.get("cd_weight", 0) > 0:
        W = [getattr(method.network, f"classifier3_{i}").weight for i in range(BRANCHES)]
        cd = sum(((W[i] @ W[j].t()) ** 2).sum().sqrt() for i in range(BRANCHES) for j in range(i + 1, BRANCHES))
        terms["cd"] = s["cd_weight"] * cd
    terms["total"] = sum(terms.values())
    params = dict(method.named_parameters())
    watched_names = WATCHED + GATE_WATCHED[case]
    watched = [params[k] for k in watched_names]
    grads = {}
    for name, value in terms.items():
        gr = torch.autograd.grad(value, watched, retain_graph=True, allow_unused=True)
        grads[name] = {k: (None if gi is None else gi.double().reshape(-1)) for k, gi in zip(watched_names, gr)}
    outputs = {"gate": g.double(), "gated": ensemble.double(), "mean": torch.stack(logits).mean(0).double()}
    keys = list(method.state_dict().keys())
    return {k: float(v) for k, v in terms.items()}, grads, outputs, keys, w


def main():
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = {"generator": "tests/reference/multibranch_reference.py", "torch": torch.__version__,
           "network": f"resnet{DEPTH}", "classes": CLASSES, "input": [BATCH, 3, 32, 32], "labels": LABELS,
           "epoch": EPOCH, "epochs": EPOCHS, "mode": "train", "cases": {}}
    for case in CASES:
        terms, grads, outputs, keys, w = step(case, torch.float64)
        terms32, grads32, _, _, _ = step(case, torch.float32)
        drifts = {t: {k: (None if g is None else float((grads32[t][k] - g).norm() / g.norm())) for k, g in by.items()}
                  for t, by in grads.items()}
        drift = max(v for by in drifts.values() for v in by.values() if v is not None)
        assert drift < 1e-2, (case, drifts)
        for k, v in terms.items():
            print(f"{case:7s} {k:12s} {v:+.9f}  (float32 {terms32[k]:+.9f})")
        print(f"{case}: ramp weight {w:.6f}, float32 drift of the gradients {drift:.1e}")
        for t, by in drifts.items():
            print("   ", t, {k.split('.', 1)[1]: (None if v is None else f"{v:.1e}") for k, v in by.items()})
        out["cases"][case] = {
            "parameters": CASES[case],
            "ramp_weight": w,
            "state_keys": keys,
            "losses": terms,
            "float32_loss_drift": {k: abs(terms32[k] - v) / abs(v) for k, v in terms.items()},
            "float32_drift": drift,
            "float32_grad_drift": drifts,
            "outputs": {k: [float(f"{e:.12g}") for e in v.reshape(-1).tolist()] for k, v in outputs.items()},
            "grads": {t: {k: (None if g is None else [float(f"{e:.9g}") for e in g.tolist()]) for k, g in by.items()}
                      for t, by in grads.items()},
        }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "multibranch.json")
    with open(path, "w") as f:
        f.write(compact_json(out) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
