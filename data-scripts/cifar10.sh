#!/usr/bin/env bash
# Fetches CIFAR-10, binary version, into DATA/cifar10/cifar-10-batches-bin
# (data_batch_1..5.bin, test_batch.bin). Usage: cifar10.sh [DATA]   (default: $DISTILL_DATA or ./data)
# Source: https://www.cs.toronto.edu/~kriz/cifar.html; the archive's MD5 is the one published there.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
distill_need curl md5sum tar

root=$(distill_data_root "${1:-}")
dir="$root/cifar10"
out="$dir/cifar-10-batches-bin"
record=$((10000 * 3073))
files=("data_batch_1.bin:$record" "data_batch_2.bin:$record" "data_batch_3.bin:$record" "data_batch_4.bin:$record" "data_batch_5.bin:$record" "test_batch.bin:$record")
md5=c32a1d4ab5d03f1284b67883e8d87530

if distill_is_complete "$out" "${files[@]}"; then
  echo "CIFAR-10 is already in $out (verified); nothing to do."
  exit 0
fi
archive="$dir/cifar-10-binary.tar.gz"
distill_fetch "$archive" "$md5" "$(distill_url https://www.cs.toronto.edu/~kriz cifar-10-binary.tar.gz)"
distill_extract "$archive" "$dir" cifar-10-batches-bin
for s in "${files[@]}"; do
  [ "$(stat -c %s -- "$out/${s%%:*}" 2>/dev/null)" = "${s#*:}" ] || distill_die "$out/${s%%:*} is missing or has the wrong size after extraction."
done
distill_mark_complete "$out" "$md5"
distill_drop_archive "$archive"
echo "CIFAR-10 is in $out"
