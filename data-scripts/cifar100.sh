#!/usr/bin/env bash
# Fetches CIFAR-100, binary version, into DATA/cifar100/cifar-100-binary (train.bin, test.bin).
# Usage: cifar100.sh [DATA]   (default: $DISTILL_DATA or ./data)
# Source: https://www.cs.toronto.edu/~kriz/cifar.html; the archive's MD5 is the one published there.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
distill_need curl md5sum tar

root=$(distill_data_root "${1:-}")
dir="$root/cifar100"
out="$dir/cifar-100-binary"
files=("train.bin:$((50000 * 3074))" "test.bin:$((10000 * 3074))")
md5=03b5dce01913d631647c71ecec9e9cb8

if distill_is_complete "$out" "${files[@]}"; then
  echo "CIFAR-100 is already in $out (verified); nothing to do."
  exit 0
fi
archive="$dir/cifar-100-binary.tar.gz"
distill_fetch "$archive" "$md5" "$(distill_url https://www.cs.toronto.edu/~kriz cifar-100-binary.tar.gz)"
distill_extract "$archive" "$dir" cifar-100-binary
for s in "${files[@]}"; do
  [ "$(stat -c %s -- "$out/${s%%:*}" 2>/dev/null)" = "${s#*:}" ] || distill_die "$out/${s%%:*} is missing or has the wrong size after extraction."
done
distill_mark_complete "$out" "$md5"
distill_drop_archive "$archive"
echo "CIFAR-100 is in $out"
