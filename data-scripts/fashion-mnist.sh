#!/usr/bin/env bash
# Fetches Fashion-MNIST into DATA/fashion-mnist (the four gzipped IDX files, read as they are).
# Usage: fashion-mnist.sh [DATA]   (default: $DISTILL_DATA or ./data)
# Source and MD5s: https://github.com/zalandoresearch/fashion-mnist (README, "Get the Data").
# Offline alternative: Debian's package dataset-fashion-mnist installs the same data in
# /usr/share/datasets/fashion-mnist, where DistillSharp finds it without any download.
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
distill_need curl md5sum

root=$(distill_data_root "${1:-}")
dir="$root/fashion-mnist"
base=http://fashion-mnist.s3-website.eu-central-1.amazonaws.com
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "note: Debian's dataset-fashion-mnist is installed in /usr/share/datasets/fashion-mnist; DistillSharp reads it from there. Fetching a copy into $dir anyway."
fi
while read -r name md5; do
  distill_fetch "$dir/$name" "$md5" "$(distill_url "$base" "$name")"
done <<'LIST'
train-images-idx3-ubyte.gz 8d4fb7e6c68d591d4c3dfef9ec88bf0d
train-labels-idx1-ubyte.gz 25c81989df183df01b3e8a0aad5dffbe
t10k-images-idx3-ubyte.gz bef4ecab320f06d8554ea6380940ec79
t10k-labels-idx1-ubyte.gz bb300cfdad3c16e7a12a480ee83cd310
LIST
echo "Fashion-MNIST is in $dir"
