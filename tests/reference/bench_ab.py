#!/usr/bin/python3
"""A/B driver: `distill bench` against bench_pytorch.py, interleaved in one session, with one summary table.

    dotnet build -c Release
    /usr/bin/python3 tests/reference/bench_ab.py --rounds 3 -- --models resnet20,resnet8x4 --windows 5

Each round runs every side once, the order reversed from one round to the next (A B C, then C B A, ...):
  DistillSharp     `distill bench` as a user runs it (no environment variables; where the kernel gives huge pages
                   on request, the command starts itself again with GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
  PyTorch tuned    bench_pytorch.py with MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296
                   MALLOC_TOP_PAD_=268435456 (PyTorch's best glibc setting measured on this machine; with
                   --pytorch-hugepages also GLIBC_TUNABLES=glibc.malloc.hugetlb=1; with --pytorch-channels-last its
                   inputs are channels-last, as DistillSharp's CIFAR networks lay them out)
  PyTorch default  bench_pytorch.py with glibc's defaults
With --pytorch-teacher-precisions fp32,bf16 the tuned PyTorch side runs once per teacher precision ("PyTorch tuned"
with an fp32 teacher, "PyTorch tuned bf16-teacher" with a folded bf16 one), so a DistillSharp run with
`-- --teacher-precision auto` is set beside both. Arguments after `--` go to both benchmarks unchanged, except
--teacher-precision, which goes to DistillSharp only (the PyTorch sides take theirs from that list). Before each run the driver waits while the 1-minute load
average is above --max-load (other work on the machine), and it records the load of every run; then it drops both
sides' shared libraries from the page cache (see evict), so that no run's resident size depends on how those files
were last read. The per-row
number of a side is the median over rounds of that run's median window; the spread is the range over rounds.
Raw JSON of every run is kept in --out. A measuring tool only: DistillSharp never depends on it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TUNED = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296", "MALLOC_TOP_PAD_": "268435456"}


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_quiet(max_load, max_wait):
    start = time.time()
    while load1() > max_load and time.time() - start < max_wait:
        print(f"  load {load1():.2f} > {max_load}: waiting", file=sys.stderr, flush=True)
        time.sleep(30)


def shared_libraries(distill):
    """The shared libraries each side maps: DistillSharp's native folder, and whatever `import torch` maps."""
    native = os.path.join(os.path.dirname(distill), "runtimes", "linux-x64", "native")
    ours = [os.path.join(native, f) for f in sorted(os.listdir(native))] if os.path.isdir(native) else []
    probe = "import sys, torch; sys.stdout.write(open('/proc/self/maps').read())"
    maps = subprocess.run(["/usr/bin/python3", "-c", probe], capture_output=True, text=True).stdout.splitlines()
    theirs = {line.split()[-1] for line in maps if ".so" in line}
    return sorted(set(ours) | {p for p in theirs if os.path.isfile(p)})


def evict(paths):
    """Drops the files' clean pages from the page cache, so that every run maps its libraries from the same state.

    A library file read sequentially (a copy, a checksum) stays cached in large folios that a mapping then faults in
    whole: libtorch_cpu.so so read added 60-75 MB to DistillSharp's resident size, baseline and peaks alike."""
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def run(side, cmd, env, out, rnd):
    with open("/proc/loadavg") as f:
        before = " ".join(f.read().split()[:3])
    print(f"round {rnd}: {side} (load {before})", file=sys.stderr, flush=True)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        sys.exit(f"{side} failed:\n{p.stderr[-3000:]}")
    doc = json.loads(p.stdout)
    path = os.path.join(out, f"{side.replace(' ', '-')}-{rnd}.json")
    with open(path, "w") as f:
        f.write(p.stdout)
    return doc


def key(row):
    return (row["kind"], row["network"], row["method"] if row["kind"] != "data" else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--distill", default=os.path.join(ROOT, "lib/DistillSharp.Cli/bin/Release/net10.0/distill.dll"))
    ap.add_argument("--out", default=os.path.join(ROOT, "artifacts", "bench-ab", time.strftime("%Y%m%d-%H%M%S")))
    ap.add_argument("--max-load", type=float, default=1.5, help="wait while the 1-minute load average is above this")
    ap.add_argument("--max-wait", type=float, default=1800, help="seconds to wait for a quiet machine before each run")
    ap.add_argument("--without-default", action="store_true",
                    help="skip the PyTorch-default side (slow; only the tuned side decides the speed targets)")
    ap.add_argument("--pytorch-teacher-precisions", default="fp32",
                    help="comma-separated teacher precisions of the tuned PyTorch side, one side each (fp32, bf16)")
    ap.add_argument("--pytorch-channels-last", action="store_true",
                    help="run the PyTorch sides with channels-last inputs (bench_pytorch.py --channels-last), the layout "
                         "DistillSharp's CIFAR networks use; default NCHW, as the papers' code runs")
    ap.add_argument("--pytorch-hugepages", action="store_true",
                    help="run the tuned PyTorch sides with glibc's heap in transparent huge pages too")
    ap.add_argument("--from", dest="source", metavar="DIR",
                    help="no new runs: summarize the raw runs kept in DIR (for example an interrupted session)")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    extra = [x for x in a.rest if x != "--"] if a.rest[:1] == ["--"] else a.rest
    if a.source:
        return summarize_folder(a.source)
    os.makedirs(a.out, exist_ok=True)
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith("MALLOC_") and k not in ("LD_PRELOAD", "DISTILL_MALLOC", "GLIBC_TUNABLES")}
    tuned = dict(TUNED, **({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"} if a.pytorch_hugepages else {}))
    pt_extra = without_option(extra, "--teacher-precision")
    pytorch = (["/usr/bin/python3", os.path.join(HERE, "bench_pytorch.py"), "--format", "json"] + pt_extra
               + (["--channels-last"] if a.pytorch_channels_last else []))
    sides = [("DistillSharp", ["dotnet", a.distill, "bench", "--format", "json"] + extra, base_env)]
    for precision in [p for p in a.pytorch_teacher_precisions.split(",") if p]:
        name = "PyTorch tuned" if precision == "fp32" else f"PyTorch tuned {precision}-teacher"
        sides.append((name, pytorch + ["--teacher-precision", precision], dict(base_env, **tuned)))
    if not a.without_default:
        sides.append(("PyTorch default", pytorch, base_env))
    runs = {name: [] for name, _, _ in sides}
    loads = []
    libraries = shared_libraries(a.distill)
    for rnd in range(1, a.rounds + 1):
        for name, cmd, env in (sides if rnd % 2 == 1 else list(reversed(sides))):
            wait_quiet(a.max_load, a.max_wait)
            evict(libraries)
            doc = run(name, cmd, env, a.out, rnd)
            runs[name].append(doc)
            loads.append(load_line(name, rnd, doc))
    summarize(runs, loads, a.rounds, " ".join(extra) if extra else "(defaults)", a.out)


def without_option(args, name):
    """args without `name VALUE` and `name=VALUE`."""
    out, skip = [], False
    for x in args:
        if skip:
            skip = False
        elif x == name:
            skip = True
        elif not x.startswith(name + "="):
            out.append(x)
    return out


def load_line(name, rnd, doc):
    return f"{name} r{rnd}: {doc.get('machine', {}).get('LoadAverage') or doc.get('load')} -> {doc.get('loadAtEnd')}"


SIDES = ("DistillSharp", "PyTorch tuned", "PyTorch tuned bf16-teacher", "PyTorch default")


def summarize_folder(folder):
    """Summarizes the complete rounds (DistillSharp and PyTorch tuned present; the other sides when run) of a folder."""
    runs, loads, rnd = {name: [] for name in SIDES}, [], 1

    def path(name):
        return os.path.join(folder, f"{name.replace(' ', '-')}-{rnd}.json")

    while all(os.path.exists(path(n)) for n in SIDES[:2]):
        for name in SIDES:
            if not os.path.exists(path(name)):
                continue
            with open(path(name)) as f:
                doc = json.load(f)
            runs[name].append(doc)
            loads.append(load_line(name, rnd, doc))
        rnd += 1
    if rnd == 1:
        sys.exit(f"{folder}: no complete round (DistillSharp-1.json and PyTorch-tuned-1.json)")
    settings = runs["DistillSharp"][0].get("settings", {})
    summarize({k: v for k, v in runs.items() if v}, loads, rnd - 1, f"as recorded in the runs: batch {settings.get('batchSize')}, "
              f"{settings.get('windows')} windows x {settings.get('stepsPerWindow')} steps", folder)


SHORT = {"PyTorch tuned": "PT tuned", "PyTorch tuned bf16-teacher": "PT tuned bf16-t", "PyTorch default": "PT default"}


def summarize(runs, loads, rounds, setting, out_dir):
    pt_sides = [name for name in runs if name != "DistillSharp" and runs[name]]
    keys = []
    for doc in runs["DistillSharp"] + runs["PyTorch tuned"]:
        for row in doc["rows"]:
            if key(row) not in keys:
                keys.append(key(row))

    def stat(side, k, field):
        vals = [r[field] for doc in runs.get(side, []) for r in doc["rows"] if key(r) == k and r.get(field) is not None]
        return (statistics.median(vals), min(vals), max(vals)) if vals else None

    first = runs["DistillSharp"][0]
    m = first["machine"]
    print(f"A/B: distill bench vs bench_pytorch.py, {rounds} rounds interleaved (order reversed every round)")
    print(f"machine: {m['Cpu']}, {m['Cores']} cores; DistillSharp: {m['Backend']}, threads {m['Threads']}, {m['Allocator']}")
    ds_settings = first.get("settings", {})
    if ds_settings.get("teacherPrecision"):
        print(f"DistillSharp teacher precision: {ds_settings['teacherPrecision']} -> {ds_settings.get('resolvedTeacherPrecision')}"
              f"{', batch norms folded' if ds_settings.get('foldTeacherBatchNorms') else ''}")
    pt = runs["PyTorch tuned"][0]
    print(f"PyTorch: {pt['torch']}; tuned = {pt['allocator']}; "
          f"inputs {'channels-last' if pt.get('channelsLast') else 'NCHW'}; sides: {', '.join(pt_sides)}")
    print(f"settings: {setting}")
    print("load averages (1/5/15 min) at start -> end of each run:")
    for line in loads:
        print("  " + line)
    print()

    def f(v):
        return "" if v is None else f"{v[0]:.1f} ({v[1]:.0f}-{v[2]:.0f})"

    header = ["kind", "network", "method", "DistillSharp img/s"]
    for side in pt_sides:
        header += [SHORT[side], "ratio"]
    header += ["DS peak MB"]
    for side in pt_sides:
        header += [f"{SHORT[side]} MB", "ratio"]
    header += ["DS vs kd", "PT vs kd"]
    out = [header]
    for k in keys:
        ds, dm = stat("DistillSharp", k, "imagesPerSecond"), stat("DistillSharp", k, "peakMb")
        row = [k[0], k[1], k[2], f(ds)]
        for side in pt_sides:
            pt = stat(side, k, "imagesPerSecond")
            row += [f(pt), f"{ds[0] / pt[0]:.2f}x" if ds and pt else ""]
        row += [f"{dm[0]:.0f}" if dm else ""]
        for side in pt_sides:
            tm = stat(side, k, "peakMb")
            row += [f"{tm[0]:.0f}" if tm else "", f"{dm[0] / tm[0]:.2f}x" if dm and tm else ""]
        dk, tk = stat("DistillSharp", k, "vsKdPercent"), stat("PyTorch tuned", k, "vsKdPercent")
        row += [f"{dk[0]:+.1f}%" if dk else "", f"{tk[0]:+.1f}%" if tk else ""]
        out.append(row)
    widths = [max(len(r[i]) for r in out) for i in range(len(header))]
    for r in out:
        print("  ".join(c.ljust(widths[i]) if i < 3 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip())
    print(f"\nraw runs: {os.path.relpath(out_dir, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
