#!/usr/bin/env bash
# Lays out ImageNet (ILSVRC-2012) from archives you bring, as DATA/imagenet/train/<wnid>/*.JPEG and
# DATA/imagenet/val/<wnid>/*.JPEG. ImageNet cannot be downloaded without an account: get the archives
# from https://image-net.org (ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar, and the devkit
# ILSVRC2012_devkit_t12.tar.gz) and point this script at them.
#
# Usage: imagenet.sh [DATA] --train ILSVRC2012_img_train.tar --val ILSVRC2012_img_val.tar
#                           (--devkit ILSVRC2012_devkit_t12.tar.gz | --val-labels FILE) [--no-verify]
#   --val-labels FILE  the class of each validation image, one per line: "ILSVRC2012_val_00000001.JPEG n01751748"
#                      (space or comma separated), or Kaggle's LOC_val_solution.csv; needs no Python
#   --devkit FILE      the official devkit; reading its meta.mat needs python3 with scipy
#   --no-verify        skip the MD5 check of the archives (it reads ~150 GB)
# The MD5s are those torchvision checks (torchvision/datasets/imagenet.py).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
distill_need md5sum tar

root_arg="" train_tar="" val_tar="" devkit="" val_labels="" verify=1
while [ $# -gt 0 ]; do
  case "$1" in
    --train) train_tar="${2:?--train needs a file}"; shift 2 ;;
    --val) val_tar="${2:?--val needs a file}"; shift 2 ;;
    --devkit) devkit="${2:?--devkit needs a file}"; shift 2 ;;
    --val-labels) val_labels="${2:?--val-labels needs a file}"; shift 2 ;;
    --no-verify) verify=0; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) distill_die "unknown option '$1'; see --help." ;;
    *) root_arg="$1"; shift ;;
  esac
done
{ [ -n "$train_tar" ] && [ -n "$val_tar" ]; } || distill_die "give both --train ILSVRC2012_img_train.tar and --val ILSVRC2012_img_val.tar (download them from https://image-net.org); see --help."
[ -n "$devkit" ] || [ -n "$val_labels" ] || distill_die "the validation images need their classes: give --devkit ILSVRC2012_devkit_t12.tar.gz or --val-labels FILE; see --help."
for f in "$train_tar" "$val_tar" ${devkit:+"$devkit"} ${val_labels:+"$val_labels"}; do
  [ -f "$f" ] || distill_die "$f: no such file."
done

root=$(distill_data_root "$root_arg")
dir="$root/imagenet"
mkdir -p -- "$dir"

if [ "$verify" = 1 ]; then
  echo "verifying the archives' MD5 (this reads them whole; --no-verify skips it)"
  distill_verify "$train_tar" 1d675b47d978889d74fa0da5fadfb00e
  distill_verify "$val_tar" 29b22e2961454d5413ddabcf34fc5622
  if [ -n "$devkit" ]; then distill_verify "$devkit" fa75699e90414af021442c21a62c3abf; fi
fi

# Validation labels: a file "<image> <wnid>" per line.
labels="$dir/.val-labels.txt"
DISTILL_CLEANUP+=("$labels")
if [ -n "$val_labels" ]; then
  awk -F'[ ,\t]+' 'NR == 1 && $1 == "ImageId" { next }
    NF >= 2 { img = $1; if (img !~ /\.JPEG$/) img = img ".JPEG"; print img, $2 }' "$val_labels" >"$labels"
else
  { command -v python3 >/dev/null 2>&1 && python3 -c 'import scipy.io' 2>/dev/null; } \
    || distill_die "reading the devkit's meta.mat needs python3 with scipy (Debian: apt-get install python3-scipy); or give --val-labels FILE instead."
  kit=$(mktemp -d "$dir/.devkit.XXXXXX")
  DISTILL_CLEANUP+=("$kit")
  tar -xzf "$devkit" -C "$kit" || distill_die "$devkit: cannot be unpacked."
  python3 - "$kit/ILSVRC2012_devkit_t12/data" >"$labels" <<'PY'
import sys, scipy.io
data = sys.argv[1]
synsets = scipy.io.loadmat(data + "/meta.mat", squeeze_me=True)["synsets"]
wnid = {int(s[0]): str(s[1]) for s in synsets if int(s[4]) == 0}
with open(data + "/ILSVRC2012_validation_ground_truth.txt") as f:
    for i, line in enumerate(f, 1):
        print(f"ILSVRC2012_val_{i:08d}.JPEG {wnid[int(line)]}")
PY
fi
[ -s "$labels" ] || distill_die "no validation labels were read; check --val-labels or --devkit."

# train/<wnid>/: the train archive holds one tar per class.
if [ -f "$dir/train/$DISTILL_MARKER" ]; then
  echo "train/ is already laid out in $dir/train; skipping it."
else
  staging=$(mktemp -d "$dir/.train.XXXXXX")
  DISTILL_CLEANUP+=("$staging")
  echo "extracting $train_tar"
  tar -xf "$train_tar" -C "$staging" || distill_die "$train_tar: cannot be unpacked (damaged?)."
  count=0
  for class_tar in "$staging"/*.tar; do
    [ -e "$class_tar" ] || distill_die "$train_tar holds no per-class .tar files; is it ILSVRC2012_img_train.tar?"
    wnid=$(basename -- "$class_tar" .tar)
    mkdir -p -- "$staging/out/$wnid"
    tar -xf "$class_tar" -C "$staging/out/$wnid" || distill_die "$train_tar: $wnid.tar inside cannot be unpacked."
    rm -f -- "$class_tar"
    count=$((count + 1))
  done
  rm -rf -- "$dir/train"
  mv -- "$staging/out" "$dir/train"
  distill_mark_complete "$dir/train" "$( [ "$verify" = 1 ] && echo 1d675b47d978889d74fa0da5fadfb00e || echo not-checked)"
  echo "train/: $count classes"
fi

# val/<wnid>/: the val archive holds the images flat.
if [ -f "$dir/val/$DISTILL_MARKER" ]; then
  echo "val/ is already laid out in $dir/val; skipping it."
else
  staging=$(mktemp -d "$dir/.val.XXXXXX")
  DISTILL_CLEANUP+=("$staging")
  echo "extracting $val_tar"
  tar -xf "$val_tar" -C "$staging" || distill_die "$val_tar: cannot be unpacked (damaged?)."
  mkdir -p -- "$staging/out"
  moved=0
  while read -r image wnid; do
    [ -f "$staging/$image" ] || distill_die "$image (in the validation labels) is not in $val_tar."
    mkdir -p -- "$staging/out/$wnid"
    mv -- "$staging/$image" "$staging/out/$wnid/$image"
    moved=$((moved + 1))
  done <"$labels"
  left=$(find "$staging" -maxdepth 1 -type f | wc -l)
  [ "$left" = 0 ] || distill_die "$left validation images have no label in the validation labels; are they for ILSVRC-2012?"
  rm -rf -- "$dir/val"
  mv -- "$staging/out" "$dir/val"
  distill_mark_complete "$dir/val" "$( [ "$verify" = 1 ] && echo 29b22e2961454d5413ddabcf34fc5622 || echo not-checked)"
  echo "val/: $moved images"
fi
echo "ImageNet is in $dir (train/<wnid>/, val/<wnid>/)"
