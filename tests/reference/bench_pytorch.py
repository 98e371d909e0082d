#!/usr/bin/python3
"""The PyTorch side of `distill bench`: the same rows, the same steps, the same table.

Run with Debian's PyTorch (python3-torch), as /usr/bin/python3:

    /usr/bin/python3 tests/reference/bench_pytorch.py [--models resnet20,resnet8x4,resnet32x4:resnet8x4]
        [--methods none,kd,crd] [--batch-size 64] [--warmup 10] [--steps 10] [--windows 5] [--threads N]
        [--format table|csv|json] [-P nce_k=4096] [--teacher-precision fp32|bf16]

Every row runs in a child process of its own (this script again, with --worker), so its peak resident memory
(VmHWM) is its own, exactly as `distill bench` does. The networks are the transcription in zoo_reference.py;
a training step is what DistillSharp's trainer does per step: the method's forward, every loss term, the total
and the top-1/top-5 counts stacked and copied to the host once, then zero_grad, backward and SGD (lr 0.05,
momentum 0.9, weight decay 5e-4). kd and crd follow DistillSharp's losses (RepDistiller's definitions) with
the cpu profile's constants (crd: feat_dim 128, nce_k 4096, nce_t 0.07, nce_m 0.5, 50,000 training images).
The data row is the same batched pipeline (index_select, zero pad 4, one gather for crop and flip, normalize).
--teacher-precision bf16 runs the frozen eval-mode teacher of kd and crd as PyTorch 1.13 can without autocast: its
batch norms folded into the convolutions before them (torch.fx's fuse, as DistillSharp folds a bf16 teacher), the
module and its input converted to bfloat16 in channels-last, the outputs that the loss reads converted back to
float32 (kd: the logits; crd: the pooled vector), as DistillSharp's TeacherLogitsAndPooled does.

The allocator setting is whatever the environment gives (glibc's defaults, or MALLOC_*_ variables, or an
LD_PRELOAD'ed allocator); the header reports it. A measuring tool only: DistillSharp never depends on it.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_reference import ZOO  # noqa: E402

CIFAR100_MEAN = [0.5071, 0.4865, 0.4409]
CIFAR100_STD = [0.2673, 0.2564, 0.2762]
CLASSES, CHANNELS, SIZE, TRAIN_IMAGES, DISTINCT_BATCHES = 100, 3, 32, 50_000, 4
METHODS = {
    "none": {},
    "kd": {"gamma": 0.1, "alpha": 0.9, "temperature": 4.0},
    "crd": {"gamma": 1.0, "alpha": 0.0, "beta": 0.8, "temperature": 4.0, "feat_dim": 128, "nce_k": 4096,
            "nce_t": 0.07, "nce_m": 0.5},
}
MARKER = "distill-bench-result: "


# ------------------------------------------------------------------------------------------------
# Methods: each returns (student logits, {term: weighted loss}).
# ------------------------------------------------------------------------------------------------
def soft_target_loss(student, teacher, t):
    log_p = F.log_softmax(teacher.detach() / t, 1)
    log_q = F.log_softmax(student / t, 1)
    return (log_p.exp() * (log_p - log_q)).sum() * (t * t / student.shape[0])


class Alone(torch.nn.Module):
    def __init__(self, student, p):
        super().__init__()
        self.student = student

    def step(self, images, labels, indices):
        logits = self.student(images)[2]
        return logits, {"ce": F.cross_entropy(logits, labels)}


class FrozenTeacher(torch.nn.Module):
    """An eval-mode teacher whose outputs reach the loss as float32: fp32 as built, or bf16 (folded, channels-last)."""

    def __init__(self, teacher, precision):
        super().__init__()
        for q in teacher.parameters():
            q.requires_grad = False
        teacher.eval()
        self.bf16 = precision == "bf16"
        if self.bf16:
            x = torch.randn(2, CHANNELS, SIZE, SIZE, generator=torch.Generator().manual_seed(3))
            with torch.no_grad():
                before = teacher(x)[2]
                folded = fold_batch_norms(teacher)
                after = folded(x)[2]
            # a fold of a batch norm that does not follow its convolution would change the function
            assert (after - before).abs().max() <= 1e-4 * before.abs().max() + 1e-5, "folding changed the teacher"
            teacher = folded.to(torch.bfloat16).to(memory_format=torch.channels_last)
        self.net = teacher

    def train(self, mode=True):
        return super().train(False)

    def forward(self, images):
        if not self.bf16:
            return self.net(images)
        feats, preact, logits = self.net(images.to(torch.bfloat16).contiguous(memory_format=torch.channels_last))
        return AsFloat(feats), AsFloat(preact), logits.float()


class AsFloat:
    """A bf16 teacher's feature list whose entries convert to float32 when read: kd and crd read one or none."""

    def __init__(self, tensors):
        self.tensors = tensors

    def __getitem__(self, i):
        return self.tensors[i].float()

    def __len__(self):
        return len(self.tensors)


def fold_batch_norms(model):
    """Each eval-mode BatchNorm2d that directly follows a Conv2d folded into it, in place (the rest unchanged)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for parent in model.modules():
        names = list(parent._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = parent._modules[a], parent._modules[b]
            if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
                parent._modules[a] = fuse_conv_bn_eval(conv, bn)
                parent._modules[b] = torch.nn.Identity()
    return model


class KD(torch.nn.Module):
    def __init__(self, student, teacher, p):
        super().__init__()
        self.student, self.teacher, self.p = student, teacher, p
        for q in teacher.parameters():
            q.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        self.teacher.eval()
        return self

    def step(self, images, labels, indices):
        logits = self.student(images)[2]
        with torch.no_grad():
            t_logits = self.teacher(images)[2]
        return logits, {"ce": F.cross_entropy(logits, labels) * self.p["gamma"],
                        "kd": soft_target_loss(logits, t_logits, self.p["temperature"]) * self.p["alpha"]}


def l2_normalize(x):
    return x / x.pow(2).sum(1, keepdim=True).sqrt()


class CRD(torch.nn.Module):
    """DistillSharp's ContrastiveRepresentationDistiller: embeddings, two momentum banks, class negatives, NCE."""

    def __init__(self, student, teacher, p, train_labels, seed):
        super().__init__()
        self.student, self.teacher, self.p = student, teacher, p
        for q in teacher.parameters():
            q.requires_grad = False
        self.gen = torch.Generator().manual_seed(seed ^ 0xC4D0)
        dim, n = int(p["feat_dim"]), train_labels.shape[0]
        with torch.no_grad():
            self.embed_s = torch.nn.Linear(self._pooled(student), dim)
            self.embed_t = torch.nn.Linear(self._pooled(teacher), dim)
        stdv = 1.0 / math.sqrt(dim / 3.0)
        self.register_buffer("memory_v1", torch.rand(n, dim, generator=self.gen) * (2 * stdv) - stdv)
        self.register_buffer("memory_v2", torch.rand(n, dim, generator=self.gen) * (2 * stdv) - stdv)
        self.z = [-1.0, -1.0]
        self.n, self.k = n, int(p["nce_k"])
        _, self.sorted_idx = train_labels.sort(stable=True)
        self.count = torch.bincount(train_labels, minlength=CLASSES)
        self.start = self.count.cumsum(0) - self.count
        self.all_labels = train_labels.clone()

    @staticmethod
    def _pooled(model):
        was = model.training
        model.eval()
        width = model(torch.zeros(1, CHANNELS, SIZE, SIZE))[0][-1].shape[1]
        model.train(was)
        return width

    def train(self, mode=True):
        super().train(mode)
        self.teacher.eval()
        return self

    def sample(self, indices, y):
        k, total = self.k, self.n
        start, count = self.start[y].unsqueeze(1), self.count[y].unsqueeze(1)
        r = (torch.rand(y.shape[0], k, dtype=torch.float64, generator=self.gen) * (total - count).double()).floor().long()
        r = torch.minimum(r, total - count - 1)
        neg = self.sorted_idx[(r + (r >= start).long() * count).reshape(-1)].view(y.shape[0], k)
        available = total - count
        if k <= total and bool((available >= k).any()):
            keys = torch.rand(y.shape[0], total, generator=self.gen)
            keys = keys.masked_fill(self.all_labels.unsqueeze(0) == y.unsqueeze(1), 2.0)
            _, chosen = keys.topk(k, dim=1, largest=False, sorted=False)
            neg = torch.where(available < k, neg, chosen)
        return torch.cat([indices.unsqueeze(1), neg], 1)

    def nce(self, prob):
        b = prob.shape[0]
        k_pn = (prob.shape[1] - 1) / self.n
        pos, neg = prob.select(1, 0), prob.narrow(1, 1, prob.shape[1] - 1)
        log_d1 = (pos / (pos + (k_pn + 1e-7))).log()
        log_d0 = (k_pn / (neg + (k_pn + 1e-7))).log()
        return -(log_d1.sum() + log_d0.sum()) / b

    def step(self, images, labels, indices):
        f_s, _, logits = self.student(images)
        with torch.no_grad():
            t_pooled = self.teacher(images)[0][-1]   # the rest of the teacher's outputs freed at once
        contrast = self.sample(indices, labels)
        es = l2_normalize(self.embed_s(f_s[-1].view(f_s[-1].shape[0], -1)))
        et = l2_normalize(self.embed_t(t_pooled.view(t_pooled.shape[0], -1)))
        b, cols, dim = es.shape[0], contrast.shape[1], es.shape[1]
        flat = contrast.reshape(-1)
        t_rows = self.memory_v2.index_select(0, flat).view(b, cols, dim)
        s_rows = self.memory_v1.index_select(0, flat).view(b, cols, dim)
        tau, mom = self.p["nce_t"], self.p["nce_m"]
        h_s = (torch.bmm(t_rows.detach(), es.unsqueeze(2)).squeeze(2) / tau).exp()
        h_t = (torch.bmm(s_rows.detach(), et.unsqueeze(2)).squeeze(2) / tau).exp()
        with torch.no_grad():
            if self.z[0] < 0:
                self.z[0] = h_s.mean().item() * self.n
            if self.z[1] < 0:
                self.z[1] = h_t.mean().item() * self.n
            for memory, e in ((self.memory_v1, es), (self.memory_v2, et)):
                mixed = memory.index_select(0, indices) * mom + e.detach() * (1 - mom)
                memory.index_copy_(0, indices, mixed / mixed.pow(2).sum(1, keepdim=True).sqrt())
        nce = self.nce(h_s / self.z[0]) + self.nce(h_t / self.z[1])
        return logits, {"ce": F.cross_entropy(logits, labels) * self.p["gamma"], "crd": nce * self.p["beta"]}


def correct(logits, labels, k):
    top = logits.topk(min(k, logits.shape[1]), dim=1)[1]
    return top.eq(labels.unsqueeze(1)).any(1).sum().float()


# ------------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------------
def vm(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def synthetic_batches(size, train_labels, gen, channels_last):
    out = []
    for _ in range(DISTINCT_BATCHES):
        images = torch.randn(size, CHANNELS, SIZE, SIZE, generator=gen)
        if channels_last:   # as DistillSharp's CIFAR networks lay out their input; the weights stay as built
            images = images.contiguous(memory_format=torch.channels_last)
        idx = torch.randint(0, train_labels.shape[0], (size,), generator=gen)
        out.append((images, train_labels[idx], idx))
    return out


def train_loop(case, s):
    gen = torch.Generator().manual_seed(s["seed"])
    train_labels = torch.randint(0, CLASSES, (TRAIN_IMAGES,), generator=gen)
    batches = synthetic_batches(s["batch"], train_labels, gen, s["channels_last"])
    torch.manual_seed(s["seed"])
    student = ZOO[case["model"]](CLASSES, CHANNELS)
    teacher = ZOO[case["teacher"]](CLASSES, CHANNELS) if case.get("teacher") else None
    if teacher is not None:
        teacher = FrozenTeacher(teacher, s.get("teacher_precision", "fp32"))
    p = dict(METHODS[case["method"]], **{k: v for k, v in s["params"].items() if k in METHODS[case["method"]]})
    method = {"none": lambda: Alone(student, p), "kd": lambda: KD(student, teacher, p),
              "crd": lambda: CRD(student, teacher, p, train_labels, s["seed"])}[case["method"]]()
    method.train()
    opt = torch.optim.SGD([q for q in method.parameters() if q.requires_grad], lr=0.05, momentum=0.9, weight_decay=5e-4)
    state = {"k": 0}

    def step():
        images, labels, idx = batches[state["k"] % len(batches)]
        state["k"] += 1
        logits, losses = method.step(images, labels, idx)
        total = sum(losses.values())
        values = torch.stack([v.detach().reshape(1) for v in losses.values()] + [total.detach().reshape(1),
                              correct(logits.detach(), labels, 1).reshape(1), correct(logits.detach(), labels, 5).reshape(1)]
                             ).double().flatten().tolist()
        if math.isfinite(values[len(losses)]):
            opt.zero_grad()
            total.backward()
            opt.step()
    return step


def eval_loop(case, s):
    gen = torch.Generator().manual_seed(s["seed"])
    train_labels = torch.randint(0, CLASSES, (TRAIN_IMAGES,), generator=gen)
    batches = synthetic_batches(max(s["batch"], 256), train_labels, gen, s["channels_last"])
    torch.manual_seed(s["seed"])
    model = ZOO[case["model"]](CLASSES, CHANNELS).eval()
    state = {"k": 0}

    def step():
        images, labels, _ = batches[state["k"] % len(batches)]
        state["k"] += 1
        with torch.no_grad():
            logits = model(images)[2]
            torch.stack([F.cross_entropy(logits, labels, reduction="sum"), correct(logits, labels, 1),
                         correct(logits, labels, 5)]).tolist()
    return step


def data_loop(s):
    gen = torch.Generator().manual_seed(s["seed"])
    images = torch.randint(0, 256, (TRAIN_IMAGES, CHANNELS, SIZE, SIZE), dtype=torch.uint8, generator=gen)
    scale = torch.tensor([1 / (255 * sd) for sd in CIFAR100_STD]).view(1, 3, 1, 1)
    shift = torch.tensor([-m / sd for m, sd in zip(CIFAR100_MEAN, CIFAR100_STD)]).view(1, 3, 1, 1)
    b, pad = s["batch"], 4
    state = {"order": torch.randperm(TRAIN_IMAGES, generator=gen), "pos": 0}

    def step():
        if state["pos"] + b > TRAIN_IMAGES:
            state["order"], state["pos"] = torch.randperm(TRAIN_IMAGES, generator=gen), 0
        idx = state["order"][state["pos"]:state["pos"] + b]
        state["pos"] += b
        x = images.index_select(0, idx)
        dy = torch.randint(0, 2 * pad + 1, (b, 1), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (b, 1), generator=gen)
        fl = torch.randint(0, 2, (b, 1), generator=gen)
        padded = F.pad(x, [pad] * 4)
        ys, xs = torch.arange(SIZE).unsqueeze(0), torch.arange(SIZE).unsqueeze(0)
        rows, cols = dy + ys, dx + xs + fl * ((SIZE - 1) - 2 * xs)
        wp = SIZE + 2 * pad
        lin = (rows.unsqueeze(2) * wp + cols.unsqueeze(1)).view(b, 1, SIZE * SIZE).expand(b, CHANNELS, SIZE * SIZE)
        out = padded.reshape(b, CHANNELS, wp * wp).gather(2, lin).view(b, CHANNELS, SIZE, SIZE)
        out.float().mul_(scale).add_(shift)
    return step


def measure(case, s):
    if s["threads"]:
        torch.set_num_threads(s["threads"])
    base = vm("VmRSS:")
    kind = case["kind"]
    step = train_loop(case, s) if kind == "train" else eval_loop(case, s) if kind == "eval" else data_loop(s)
    per_step = max(s["batch"], 256) if kind == "eval" else s["batch"]
    for _ in range(s["warmup"]):
        step()
    ips, secs = [], []
    for _ in range(s["windows"]):
        t0 = time.perf_counter()
        for _ in range(s["steps"]):
            step()
        dt = time.perf_counter() - t0
        ips.append(per_step * s["steps"] / dt)
        secs.append(dt / s["steps"])
    return {"case": case, "batch": per_step, "threads": torch.get_num_threads(), "ips": ips, "secs": secs,
            "base": base, "peak": vm("VmHWM:")}


# ------------------------------------------------------------------------------------------------
# Rows, isolation and output (the same columns as distill bench)
# ------------------------------------------------------------------------------------------------
def cases(models, methods):
    train, nets = [], []
    for entry in models:
        parts = entry.split(":")
        teacher, student = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
        for net in ([student] if teacher is None else [student, teacher]):
            if net not in nets:
                nets.append(net)
        for m in (["none"] if teacher is None else methods):
            c = {"kind": "train", "model": student, "method": m, "teacher": teacher if m != "none" else None}
            if c not in train:
                train.append(c)
    return train + [{"kind": "eval", "model": n, "method": "none", "teacher": None} for n in nets] + \
        [{"kind": "data", "model": "", "method": "none", "teacher": None}]


def allocator():
    env = [f"{k}={v}" for k, v in sorted(os.environ.items())
           if k.startswith("MALLOC_") or k in ("LD_PRELOAD", "GLIBC_TUNABLES")]
    return "glibc malloc, environment: " + " ".join(env) if env else "glibc malloc defaults"


def network(c):
    return "crop+flip+normalize" if c["kind"] == "data" else (f"{c['teacher']} -> {c['model']}" if c.get("teacher") else c["model"])


def median(v):
    return statistics.median(v) if v else float("nan")


def summarize(rows):
    for r in rows:
        r["median"], r["min"], r["max"] = median(r["ips"]), min(r["ips"]), max(r["ips"])
        r["spread"] = 100 * (r["max"] - r["min"]) / r["median"]
        r["step_ms"] = 1000 * median(r["secs"])
    for r in rows:
        kd = next((k for k in rows if k["case"]["kind"] == "train" and k["case"]["method"] == "kd"
                   and k["case"]["model"] == r["case"]["model"]), None)
        r["vs_kd"] = 100 * (r["step_ms"] / kd["step_ms"] - 1) if kd and r["case"]["kind"] == "train" else None


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def mb(b):
    return b / (1024 * 1024)


def table(rows, a, load_start, load_end):
    print("bench_pytorch.py: training, evaluation and data-pipeline throughput on synthetic CIFAR-100-shaped data (3x32x32, 100 classes)")
    print(f"machine:   {cpu_model()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"backend:   PyTorch {torch.__version__}, Python {platform.python_version()}, device cpu, threads "
          f"{rows[0]['threads'] if rows else torch.get_num_threads()} intra-op / {torch.get_num_interop_threads()} inter-op")
    print(f"allocator: {allocator()}")
    print(f"load:      {load_start} at start, {load_end} at end (1/5/15-minute averages)")
    params = "" if not a.param else " with " + ", ".join(a.param)
    print(f"setting:   batch {a.batch_size} (eval {max(a.batch_size, 256)}), warm-up {a.warmup} steps, {a.windows} windows x "
          f"{a.steps} steps; SGD momentum 0.9, weight decay 5e-4; method constants of the cpu profile{params}")
    print("memory:    peak = VmHWM of the child process that ran the row alone; base = its resident size before the networks were built")
    print()
    out = [["kind", "network", "method", "batch", "images/s", "spread", "ms/step", "peak MB", "base MB", "vs kd"]]
    for r in rows:
        c = r["case"]
        out.append([c["kind"], network(c), "" if c["kind"] == "data" else c["method"], str(r["batch"]), f"{r['median']:.1f}",
                    f"{r['spread']:.1f}%", f"{r['step_ms']:.2f}", f"{mb(r['peak']):.0f}", f"{mb(r['base']):.0f}",
                    "" if r["vs_kd"] is None else f"{r['vs_kd']:+.1f}%"])
    widths = [max(len(row[i]) for row in out) for i in range(len(out[0]))]
    for row in out:
        print("  ".join(cell.ljust(widths[i]) if i < 3 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip())


def csv(rows):
    print("kind,model,teacher,method,batch,threads,images_per_s,min_images_per_s,max_images_per_s,spread_pct,step_ms,peak_mb,base_mb,vs_kd_pct")
    for r in rows:
        c = r["case"]
        model = "crop+flip+normalize" if c["kind"] == "data" else c["model"]
        vals = [c["kind"], model, c.get("teacher") or "", "" if c["kind"] == "data" else c["method"], r["batch"], r["threads"],
                r["median"], r["min"], r["max"], r["spread"], r["step_ms"], mb(r["peak"]), mb(r["base"]),
                "" if r["vs_kd"] is None else r["vs_kd"]]
        print(",".join(f"{v:.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v) for v in vals))


def json_row(r):
    """A row with the keys of distill bench's JSON."""
    c = r["case"]
    return {"kind": c["kind"], "model": c["model"], "teacher": c.get("teacher"), "method": c["method"], "network": network(c),
            "batch": r["batch"], "threads": r["threads"], "imagesPerSecond": r["median"], "minImagesPerSecond": r["min"],
            "maxImagesPerSecond": r["max"], "spreadPercent": r["spread"], "stepMilliseconds": r["step_ms"],
            "windowImagesPerSecond": r["ips"], "peakMb": mb(r["peak"]), "baseMb": mb(r["base"]), "vsKdPercent": r["vs_kd"],
            "isolated": True}


def worker():
    req = json.loads(sys.stdin.read())
    print(MARKER + json.dumps(measure(req["case"], req["settings"])), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="resnet20,resnet8x4,resnet32x4:resnet8x4")
    ap.add_argument("--methods", default="none,kd,crd")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads (default: the cores)")
    ap.add_argument("--format", choices=["table", "csv", "json"], default="table")
    ap.add_argument("-P", "--param", action="append", default=[])
    ap.add_argument("--teacher-precision", choices=["fp32", "bf16"], default="fp32",
                    help="number format of the pairs' frozen teachers (bf16: folded, channels-last)")
    ap.add_argument("--channels-last", action="store_true",
                    help="inputs in the channels-last memory format (as DistillSharp's CIFAR networks run); default NCHW")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker()
    params = {kv.split("=")[0]: float(kv.split("=")[1]) for kv in a.param}
    s = {"batch": a.batch_size, "warmup": a.warmup, "steps": a.steps, "windows": a.windows, "threads": a.threads,
         "params": params, "seed": 1, "teacher_precision": a.teacher_precision,
         "channels_last": a.channels_last}
    load_start = load()
    rows = []
    for c in cases([m for m in a.models.split(",") if m], [m for m in a.methods.split(",") if m]):
        print(f"measuring {c['kind']} {network(c)} {'' if c['kind'] == 'data' else c['method']} ... ", end="", file=sys.stderr, flush=True)
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker"], input=json.dumps({"case": c, "settings": s}),
                           capture_output=True, text=True)
        line = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith(MARKER)), None)
        if p.returncode != 0 or line is None:
            sys.exit(f"worker failed for {c}: {p.stderr.strip()[-2000:]}")
        r = json.loads(line[len(MARKER):])
        rows.append(r)
        print(f"{median(r['ips']):.1f} images/s", file=sys.stderr, flush=True)
    summarize(rows)
    load_end = load()
    if a.format == "csv":
        csv(rows)
    elif a.format == "json":
        print(json.dumps({"tool": "bench_pytorch.py", "torch": torch.__version__, "allocator": allocator(), "load": load_start,
                          "teacherPrecision": a.teacher_precision, "channelsLast": a.channels_last,
                          "loadAtEnd": load_end, "rows": [json_row(r) for r in rows]}, indent=2))
    else:
        table(rows, a, load_start, load_end)


if __name__ == "__main__":
    sys.exit(main())
