#!/usr/bin/env bash
# Runs a notebook under the real .NET Interactive C# kernel, driven by Jupyter's own client (Debian's nbclient),
# at profile=smoke: what a reader gets who opens the notebook in Jupyter. The tests call it for every notebook
# (tests/DistillSharp.Tests/Notebooks/KernelNotebooksTests.cs); .ci/run calls it with --install first.
#
#   .ci/notebooks-kernel.sh notebooks/00-foundations.ipynb [OUT.ipynb] [name=value ...]
#   .ci/notebooks-kernel.sh --install      # only steps 1-3 below: what a run needs, installed when missing
#
# Installs what it needs when missing (each step is skipped when already done): Debian's python3-nbclient and
# jupyter-client, the Microsoft.dotnet-interactive tool at $DOTNET_INTERACTIVE_VERSION, its kernelspecs
# (`dotnet interactive jupyter install`, into ~/.local/share/jupyter/kernels), and the Release build of
# lib/DistillSharp (SKIP_BUILD=1 skips it). Then it executes every cell in order, the kernel working in the
# notebook's folder (as Jupyter does, so `#r "../lib/..."` resolves), with a cell tagged injected-parameters
# after the parameters cell that sets profile=smoke, runs_dir=<OUT's folder>/runs (when the notebook declares it)
# and any name=value given. The executed notebook goes to OUT (default artifacts/kernel/NAME.ipynb), its results
# table beside it (NAME.results.csv, through DISTILL_NOTEBOOK_RESULTS), the kernel's own output to NAME.kernel.log.
# Exit codes: 0 every cell ran; 1 a cell failed (the message names it; OUT holds the cells run so far);
# 2 bad usage or a failed install.
set -uo pipefail
cd "$(dirname "$0")/.."
# Where the user's tools and kernelspecs go (~/.dotnet/tools, ~/.local/share/jupyter): HOME, or the account's home.
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
root=$PWD

DOTNET_INTERACTIVE_VERSION=${DOTNET_INTERACTIVE_VERSION:-1.0.712001}
CELL_TIMEOUT=${CELL_TIMEOUT:-1800}       # seconds per cell
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-300}  # seconds for the kernel to answer

say() { echo "notebooks-kernel: $*" >&2; }
die() { say "$*"; exit 2; }

[ $# -ge 1 ] || die "usage: .ci/notebooks-kernel.sh NOTEBOOK.ipynb [OUT.ipynb] [name=value ...] | --install"
install_only=0
if [ "$1" = --install ]; then
  install_only=1
else
  notebook=$(realpath "$1") || die "no notebook $1"
  [ -f "$notebook" ] || die "no notebook $1"
  shift
  name=$(basename "$notebook" .ipynb)
  out="$root/artifacts/kernel/$name.ipynb"
  if [ $# -ge 1 ] && [[ "$1" != *=* ]]; then out=$1; shift; fi
  mkdir -p "$(dirname "$out")" && out=$(realpath "$out") || die "cannot write $out"
fi

# The tool's commands, and `dotnet interactive` as the kernelspec runs it, need the global tools folder on PATH.
export PATH="$PATH:${DOTNET_CLI_HOME:-$HOME}/.dotnet/tools"
export DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# 1. Jupyter's client, from Debian (run with /usr/bin/python3, whatever python3 is first on PATH).
if ! /usr/bin/python3 -c "import nbclient, nbformat, jupyter_client" >/dev/null 2>&1 || ! command -v jupyter-kernelspec >/dev/null; then
  command -v apt-get >/dev/null || die "python3-nbclient is missing and there is no apt-get to install it"
  say "installing python3-nbclient jupyter-client"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y python3-nbclient jupyter-client >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && apt-get install -y python3-nbclient jupyter-client >/dev/null 2>&1; }) \
    || die "could not install python3-nbclient jupyter-client"
fi

# 2. The kernel: the dotnet-interactive global tool, at the pinned version.
installed=$(dotnet tool list -g 2>/dev/null | awk 'tolower($1) == "microsoft.dotnet-interactive" { print $2 }')
if [ "$installed" != "$DOTNET_INTERACTIVE_VERSION" ]; then
  if [ -n "$installed" ]; then
    say "updating Microsoft.dotnet-interactive $installed -> $DOTNET_INTERACTIVE_VERSION"
    dotnet tool update -g Microsoft.dotnet-interactive --version "$DOTNET_INTERACTIVE_VERSION" >/dev/null \
      || die "could not update Microsoft.dotnet-interactive"
  else
    say "installing Microsoft.dotnet-interactive $DOTNET_INTERACTIVE_VERSION"
    dotnet tool install -g Microsoft.dotnet-interactive --version "$DOTNET_INTERACTIVE_VERSION" >/dev/null \
      || die "could not install Microsoft.dotnet-interactive"
  fi
fi

# 3. Its kernelspecs (.net-csharp, .net-fsharp, .net-powershell), through `jupyter kernelspec install --user`.
has_kernelspec() { jupyter-kernelspec list 2>/dev/null | grep '^ *\.net-csharp ' >/dev/null; }
if ! has_kernelspec; then
  say "installing the .NET Interactive kernelspecs"
  dotnet interactive jupyter install >/dev/null || die "dotnet interactive jupyter install failed"
  has_kernelspec || die "the .net-csharp kernelspec is still missing"
fi

[ "$install_only" = 1 ] && { say "the .net-csharp kernel and Jupyter's client are installed"; exit 0; }

# 4. The library the notebook references (lib/DistillSharp/bin/Release/net10.0/DistillSharp.dll, libtorch beside it).
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building lib/DistillSharp (Release)"
  dotnet build lib/DistillSharp/DistillSharp.csproj -c Release -nologo -v quiet >/dev/null \
    || { dotnet build lib/DistillSharp/DistillSharp.csproj -c Release -nologo -v quiet | tail -20; die "the build failed"; }
fi

export DISTILL_NOTEBOOK_RESULTS="${out%.ipynb}.results.csv"
rm -f "$DISTILL_NOTEBOOK_RESULTS"
say "running $(realpath --relative-to="$root" "$notebook") under the .net-csharp kernel -> $out"

/usr/bin/python3 - "$notebook" "$out" "$CELL_TIMEOUT" "$STARTUP_TIMEOUT" "$@" <<'PY'
import os, re, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

source, out, cell_timeout, startup_timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
nb = nbformat.read(source, as_version=4)
folder = os.path.dirname(source)
label = {id(c): f"cell {i + 1}" for i, c in enumerate(nb.cells)}   # numbered as in the file, from 1

def tags(cell):
    return cell.get("metadata", {}).get("tags", [])

params = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "parameters" in tags(c)]
def usage(message):
    print(f"notebooks-kernel: {message}", file=sys.stderr)
    sys.exit(2)

if not params:
    usage("the notebook has no cell tagged 'parameters'")
declared = {}
for line in nb.cells[params[0]].source.splitlines():
    m = re.match(r"\s*([A-Za-z_][\w\[\]]*)\s+([A-Za-z_]\w*)\s*=", line)
    if m:
        declared[m.group(2)] = m.group(1)

values = {"profile": "smoke"}
if "runs_dir" in declared:
    values["runs_dir"] = os.path.join(os.path.dirname(out), "runs")
for arg in sys.argv[5:]:
    key, _, value = arg.partition("=")
    values[key] = value
lines = ["// Parameters injected by .ci/notebooks-kernel.sh; they replace the defaults above."]
for key, value in values.items():
    if key not in declared:
        usage(f"the parameters cell declares no '{key}'")
    typ = declared[key]
    literal = typ == "var" and re.fullmatch(r"-?\d+(\.\d*)?|true|false", value)
    if typ == "string" or (typ == "var" and not literal):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines.append(f"{typ} {key} = {value};")
injected = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
label[id(injected)] = "injected parameters"
nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and "injected-parameters" in tags(c))]
at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "parameters" in tags(c))
nb.cells.insert(at + 1, injected)

log_path = out[:-len(".ipynb")] + ".kernel.log" if out.endswith(".ipynb") else out + ".kernel.log"
client = NotebookClient(nb, kernel_name=".net-csharp", timeout=cell_timeout, startup_timeout=startup_timeout,
                        allow_errors=False, resources={"metadata": {"path": folder}})

def first_line(text):
    text = re.sub(r"\x1b\[[0-9;]*m", "", text or "").strip()
    return text.splitlines()[0] if text else ""

failure, clock = None, time.monotonic()
with open(log_path, "w") as log:
    try:
        with client.setup_kernel(stdout=log, stderr=log):
            info = client.wait_for_reply(client.kc.kernel_info())
            if info and "language_info" in info["content"]:
                nb.metadata["language_info"] = info["content"]["language_info"]
            startup = time.monotonic() - clock
            print(f"notebooks-kernel: kernel ready in {startup:.1f} s", file=sys.stderr)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                start = time.monotonic()
                try:
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                except CellExecutionError:
                    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                    detail = f"{errors[0].get('ename', '')}: {first_line(errors[0].get('evalue', ''))}" if errors else "an error"
                    failure = f"{label[id(cell)]} failed: {detail}"
                except CellTimeoutError:
                    failure = f"{label[id(cell)]} did not finish within {cell_timeout} s"
                except DeadKernelError:
                    failure = f"the kernel died while running {label[id(cell)]}"
                cell.metadata.setdefault("kernel_run", {})["seconds"] = round(time.monotonic() - start, 3)
                if failure:
                    break
    except (RuntimeError, TimeoutError) as e:
        failure = failure or f"the kernel did not start: {first_line(str(e))} (see {log_path})"
total = time.monotonic() - clock
nb.metadata["kernel_run"] = {"seconds": round(total, 3), "status": "failed" if failure else "completed"}
nbformat.write(nb, out)
if failure:
    print(f"notebooks-kernel: {failure} (after {total:.1f} s; partial notebook: {out})", file=sys.stderr)
    sys.exit(1)
print(f"notebooks-kernel: every cell ran in {total:.1f} s (kernel start-up included); executed notebook: {out}", file=sys.stderr)
PY
