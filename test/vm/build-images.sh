#!/usr/bin/env bash
# Builds (or finds) the VM images of the given variants, all at once: after the shared base their
# DKMS builds overlap (each has a long single-threaded configure). On a warm cache this takes a
# second. Used by suites.sh, and started early by scripts/test.sh so the build overlaps `npm test`.
#
#   test/vm/build-images.sh [VARIANT...]   (default: openzfs-2.1 openzfs-2.3)
# Exit status: 0 when every image is ready; 1 otherwise, after printing the failed build's log.
set -euo pipefail
cd "$(dirname "$0")/../.."

variants=("$@")
[ "${#variants[@]}" -gt 0 ] || variants=(openzfs-2.1 openzfs-2.3)
logs=$(mktemp -d "${TMPDIR:-/tmp}/lnstore-build-images.XXXXXX")
trap 'rm -rf "$logs"' EXIT

start=$SECONDS
pids=()
for variant in "${variants[@]}"; do
  test/vm/build-image.sh "$variant" >"$logs/build-$variant.out" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    cat "$logs/build-${variants[$i]}.out" >&2
    echo "== the ${variants[$i]} image could not be built (above): the VM tier cannot run" >&2
    exit 1
  fi
  grep -E 'image ready|reusing' "$logs/build-${variants[$i]}.out" || true
done
echo "== images ready after $((SECONDS - start)) s"
