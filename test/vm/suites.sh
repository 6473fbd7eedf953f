#!/usr/bin/env bash
# `npm run test:vm`: lnstore's integration suites against the real OpenZFS kernel module, in both
# VM variants, then a summary of which behaviours ran against which OpenZFS version.
# So far the `status` suite runs here; the others assume zfs-fuse specifics and follow.
set -euo pipefail
cd "$(dirname "$0")/../.."

suites=(test/integration/status.test.ts)
declare -A results=()
status=0
for variant in openzfs-2.1 openzfs-2.3; do
  echo "== $variant: ${suites[*]}"
  if test/vm/run.sh "$variant" --disks 6 --timeout 1800 -- node node_modules/mocha/bin/mocha.js "${suites[@]}"; then
    results[$variant]=passed
  else
    results[$variant]="FAILED (exit $?)"
    status=1
  fi
done

echo "== VM tier summary"
for variant in openzfs-2.1 openzfs-2.3; do
  echo "  $variant: lnstore status on mirror and raidz2 pools (healthy, checksum errors from a corrupted disk and a scrub, OFFLINE members, -j/-p detection): ${results[$variant]}"
done
exit "$status"
