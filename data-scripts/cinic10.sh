#!/usr/bin/env bash
# Fetches CINIC-10 into DATA/cinic10/{train,valid,test}/<class>/*.png (90000 images per split).
# Usage: cinic10.sh [DATA]   (default: $DISTILL_DATA or ./data)
# Source: Edinburgh DataShare, https://doi.org/10.7488/ds/2448 (github.com/BayesWatch/cinic-10);
# the MD5 is the archive's checksum as listed by DataShare (687,544,992 bytes).
set -euo pipefail
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
distill_need curl md5sum tar

root=$(distill_data_root "${1:-}")
dir="$root/cinic10"
md5=6ee4d0c996905fe93221de577967a372
classes=(airplane automobile bird cat deer dog frog horse ship truck)
specs=()
for split in train valid test; do for c in "${classes[@]}"; do specs+=("$split/$c:-"); done; done

if distill_is_complete "$dir" "${specs[@]}"; then
  echo "CINIC-10 is already in $dir (verified); nothing to do."
  exit 0
fi
archive="$dir/CINIC-10.tar.gz"
distill_fetch "$archive" "$md5" "$(distill_url https://datashare.ed.ac.uk/bitstream/handle/10283/3192 CINIC-10.tar.gz)"
distill_extract "$archive" "$dir" train valid test
for s in "${specs[@]}"; do [ -d "$dir/${s%%:*}" ] || distill_die "$dir/${s%%:*} is missing after extraction."; done
distill_mark_complete "$dir" "$md5"
distill_drop_archive "$archive"
echo "CINIC-10 is in $dir (train/, valid/, test/)"
