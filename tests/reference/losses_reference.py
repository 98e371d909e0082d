"""Golden values for the DistillSharp loss tests, computed with PyTorch (Debian's python3-torch).

Run: /usr/bin/python3 tests/reference/losses_reference.py  (writes tests/reference/golden/losses.json)

Every input is a closed-form "formula fill" that the C# tests rebuild element by element:
    fill(shape, a, b, scale)[i] = scale * sin(a * i + b)   over the row-major flat index i.
The computations below are written independently of the C# code, from the formulas in the papers and the
behaviour of the reference code, using PyTorch's own kernels (kl_div, bmm, index_copy_).
"""
import json
import math
import os

import torch
import torch.nn.functional as F


def fill(shape, a, b, scale=1.0):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.float64)
    return (scale * torch.sin(a * i + b)).reshape(shape).to(torch.float32)


def kd_cases():
    cases = []
    for temperature in (1.0, 4.0, 0.5):
        s = fill((3, 5), 0.7, 0.1, 2.0).requires_grad_(True)
        t = fill((3, 5), 0.3, 0.5, 3.0)
        loss = F.kl_div(F.log_softmax(s / temperature, dim=1), F.softmax(t / temperature, dim=1),
                        reduction="sum") * temperature ** 2 / s.shape[0]
        loss.backward()
        cases.append({"temperature": temperature, "loss": loss.item(), "grad": s.grad.reshape(-1).tolist()})
    return cases


class Bank:
    """A transcription of CRD's two-sided momentum memory, for one tiny bank."""

    def __init__(self, n, dim, k, temperature, momentum):
        self.n, self.k, self.t, self.m = n, k, temperature, momentum
        self.v1 = fill((n, dim), 0.9, 0.2, 0.5)   # student side
        self.v2 = fill((n, dim), 0.4, 1.1, 0.5)   # teacher side
        self.z1 = self.z2 = None

    def step(self, e_s, e_t, idx, contrast):
        b, cols = contrast.shape
        rows_t = self.v2.index_select(0, contrast.reshape(-1)).view(b, cols, -1)
        rows_s = self.v1.index_select(0, contrast.reshape(-1)).view(b, cols, -1)
        h_s = torch.exp(torch.bmm(rows_t, e_s.unsqueeze(2)).squeeze(2) / self.t)
        h_t = torch.exp(torch.bmm(rows_s, e_t.unsqueeze(2)).squeeze(2) / self.t)
        if self.z1 is None:
            self.z1 = h_s.mean().item() * self.n
        if self.z2 is None:
            self.z2 = h_t.mean().item() * self.n
        p_s, p_t = h_s / self.z1, h_t / self.z2
        with torch.no_grad():
            for bank, e in ((self.v1, e_s), (self.v2, e_t)):
                new = bank.index_select(0, idx) * self.m + e * (1 - self.m)
                bank.index_copy_(0, idx, new / new.norm(dim=1, keepdim=True))
        return p_s, p_t


def nce(p, n):
    """CRD eq. 18 with uniform noise 1/n and epsilon 1e-7, summed over pairs, averaged over the batch."""
    k = p.shape[1] - 1
    kpn = k / n
    pos = torch.log(p[:, 0] / (p[:, 0] + kpn + 1e-7))
    neg = torch.log(kpn / (p[:, 1:] + kpn + 1e-7))
    return -(pos.sum() + neg.sum()) / p.shape[0]


def crd_case():
    n, dim, k, temperature, momentum = 10, 4, 3, 0.07, 0.5
    bank = Bank(n, dim, k, temperature, momentum)
    idx = torch.tensor([3, 7])
    contrast = torch.tensor([[3, 0, 5, 9], [7, 1, 2, 4]])
    steps = []
    for step, (a, b) in enumerate(((0.3, 0.2), (0.45, 1.7))):
        e_s = F.normalize(fill((2, dim), a, b), dim=1)
        e_t = F.normalize(fill((2, dim), a + 0.1, b + 0.4), dim=1)
        p_s, p_t = bank.step(e_s, e_t, idx, contrast)
        steps.append({
            "fill_student": [a, b], "fill_teacher": [a + 0.1, b + 0.4],
            "p_student": p_s.reshape(-1).tolist(), "p_teacher": p_t.reshape(-1).tolist(),
            "loss_student": nce(p_s, n).item(), "loss_teacher": nce(p_t, n).item(),
            "memory_v1": bank.v1.reshape(-1).tolist(), "memory_v2": bank.v2.reshape(-1).tolist(),
        })
    return {
        "n": n, "dim": dim, "k": k, "temperature": temperature, "momentum": momentum,
        "memory_v1_fill": [0.9, 0.2, 0.5], "memory_v2_fill": [0.4, 1.1, 0.5],
        "idx": idx.tolist(), "contrast": contrast.reshape(-1).tolist(),
        "z_student": bank.z1, "z_teacher": bank.z2, "steps": steps,
    }


def main():
    torch.set_default_dtype(torch.float32)
    out = {"torch": torch.__version__, "kd": kd_cases(), "crd": crd_case()}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "losses.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
