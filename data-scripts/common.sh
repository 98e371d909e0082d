# Shared functions of the DistillSharp data-scripts. Sourced by each script, not run on its own.
#
#   distill_data_root [DIR]            the data folder: DIR, else $DISTILL_DATA, else ./data (created)
#   distill_url DEFAULT_BASE FILE      FILE under $DISTILL_MIRROR when set, else under DEFAULT_BASE
#   distill_fetch DEST MD5 URL...      download to DEST via a temporary file, verify the MD5, rename;
#                                      skips a DEST that is already there with the right MD5
#   distill_verify FILE MD5            fail unless FILE has that MD5
#   distill_extract ARCHIVE DIR NAME.. unpack ARCHIVE and move its top-level entries NAME.. into DIR
#   distill_is_complete DIR FILE:SIZE..  true when DIR holds the marker and every FILE with its SIZE
#   distill_mark_complete DIR MD5      write DIR's marker (what was verified)
#
# Environment: DISTILL_DATA (data folder), DISTILL_MIRROR (base URL replacing the official one, e.g. a
# local mirror as file:///srv/mirror), DISTILL_KEEP_ARCHIVES=1 (keep archives after extraction).

DISTILL_MARKER=".distill-complete"
DISTILL_CLEANUP=()

distill_cleanup() {
  local f
  for f in "${DISTILL_CLEANUP[@]+"${DISTILL_CLEANUP[@]}"}"; do rm -rf -- "$f"; done
}
trap distill_cleanup EXIT
trap 'distill_cleanup; exit 130' INT TERM

distill_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

distill_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || distill_die "'$tool' is needed but not installed (Debian: apt-get install $tool)."
  done
}

distill_data_root() {
  local root="${1:-${DISTILL_DATA:-./data}}"
  mkdir -p -- "$root" || distill_die "cannot create the data folder '$root'."
  (cd -- "$root" && pwd)
}

distill_url() {
  local base="${DISTILL_MIRROR:-$1}"
  printf '%s/%s\n' "${base%/}" "$2"
}

distill_md5() {
  md5sum -- "$1" | cut -d' ' -f1
}

distill_verify() {
  local file="$1" expected="$2" actual
  [ -f "$file" ] || distill_die "$file: no such file."
  actual=$(distill_md5 "$file")
  [ "$actual" = "$expected" ] || distill_die "$file: checksum mismatch: expected md5 $expected, the file has md5 $actual. It is damaged or not the published file; fetch it again."
}

distill_fetch() {
  local dest="$1" expected="$2" url tmp actual failures=""
  shift 2
  if [ -f "$dest" ] && [ "$(distill_md5 "$dest")" = "$expected" ]; then
    echo "$dest: already there, md5 verified"
    return 0
  fi
  mkdir -p -- "$(dirname -- "$dest")"
  for url in "$@"; do
    tmp="$dest.part.$$"
    DISTILL_CLEANUP+=("$tmp")
    echo "fetching $url"
    if ! curl -fL --retry 2 --connect-timeout 20 -sS -o "$tmp" -- "$url"; then
      rm -f -- "$tmp"
      failures+=" download of $url failed;"
      continue
    fi
    actual=$(distill_md5 "$tmp")
    if [ "$actual" != "$expected" ]; then
      rm -f -- "$tmp"
      failures+=" checksum mismatch for $url: expected md5 $expected, got md5 $actual (damaged or not the published file; nothing was kept);"
      continue
    fi
    mv -f -- "$tmp" "$dest"
    echo "$dest: fetched, md5 $expected verified"
    return 0
  done
  distill_die "could not fetch $(basename -- "$dest"):${failures%;}."
}

distill_extract() {
  local archive="$1" dir="$2" staging name
  shift 2
  mkdir -p -- "$dir"
  staging=$(mktemp -d "$dir/.extract.XXXXXX")
  DISTILL_CLEANUP+=("$staging")
  echo "extracting $archive"
  tar -xf "$archive" -C "$staging" || distill_die "$archive: the archive cannot be unpacked (damaged?); delete it and run again."
  for name in "$@"; do
    [ -e "$staging/$name" ] || distill_die "$archive: '$name' is not in the archive; is it the right file?"
    rm -rf -- "${dir:?}/$name"
    mv -- "$staging/$name" "$dir/$name"
  done
  rm -rf -- "$staging"
}

distill_is_complete() {
  local dir="$1" spec file size
  shift
  [ -f "$dir/$DISTILL_MARKER" ] || return 1
  for spec in "$@"; do
    file="${spec%%:*}"
    size="${spec#*:}"
    [ -e "$dir/$file" ] || return 1
    if [ "$size" != "$spec" ] && [ "$size" != "-" ]; then
      [ "$(stat -c %s -- "$dir/$file")" = "$size" ] || return 1
    fi
  done
  return 0
}

distill_mark_complete() {
  printf 'verified md5 %s on %s\n' "$2" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$1/$DISTILL_MARKER"
}

distill_drop_archive() {
  if [ "${DISTILL_KEEP_ARCHIVES:-0}" != "1" ]; then rm -f -- "$1"; fi
}
