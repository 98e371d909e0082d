#!/usr/bin/env bash
# Fetches MNIST into DATA/mnist (the four gzipped IDX files, read as they are).
# Usage: mnist.sh [DATA]   (default: $DISTILL_DATA or ./data)
# Source: http://yann.lecun.com/exdb/mnist/ (often refuses downloads now), then the mirror torchvision
# uses; the MD5s are torchvision's (torchvision/datasets/mnist.py). No Debian package ships MNIST.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
distill_need curl md5sum

root=$(distill_data_root "${1:-}")
dir="$root/mnist"
while read -r name md5; do
  if [ -n "${DISTILL_MIRROR:-}" ]; then
    distill_fetch "$dir/$name" "$md5" "$(distill_url unused "$name")"
  else
    distill_fetch "$dir/$name" "$md5" "http://yann.lecun.com/exdb/mnist/$name" "https://ossci-datasets.s3.amazonaws.com/mnist/$name"
  fi
done <<'LIST'
train-images-idx3-ubyte.gz f68b3c2dcbeaaa9fbdd348bbdeb94873
train-labels-idx1-ubyte.gz d53e105ee54ea40749a09fcbcd1e9432
t10k-images-idx3-ubyte.gz 9fb629c4189551a2d022fa330f9573f3
t10k-labels-idx1-ubyte.gz ec29112dd5afa0611ce80d1b7f02629c
LIST
echo "MNIST is in $dir"
