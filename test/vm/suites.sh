#!/usr/bin/env bash
# `npm run test:vm`: lnstore's integration suites against the real OpenZFS kernel module, in both
# VM variants (one VM boot per variant, all suites in one mocha process: under TCG mocha's start-up
# alone takes about a minute), then a table of which behaviours ran against which OpenZFS version;
# the operator journeys run in the same two machine slots, each starting when a machine ends.
#
# Environment (all optional):
#   LNSTORE_VM_VARIANTS   variants to run, default "openzfs-2.1 openzfs-2.3"
#   LNSTORE_VM_SUITES     test files to run instead of the default list below
#   LNSTORE_VM_TIMEOUT    hard limit per variant in seconds (default 2700)
#   LNSTORE_VM_JOURNEYS   operator journeys to run beside the suites (test/vm/journeys.sh), "none"
#                         for none; default: the ones CI runs (test/vm/ci-journeys)
#   LNSTORE_VM_JOURNEY_VARIANTS  variants for the journeys (default: LNSTORE_VM_VARIANTS)
# Exit status: 0 when every variant ran and passed, 1 otherwise (a VM that could not start counts
# as a failure: this tier never passes without having run).
set -euo pipefail
cd "$(dirname "$0")/../.."

# The suites whose behaviour depends on the ZFS underneath. The others (config, schedule, monitor,
# alerts, preflight) run on zfs-fuse in `npm test`; the status, scrub, replace-disk and ZED paths
# they share are exercised here. replace-disk and real-node run around the real lightningd
# (../shared is mounted at /shared in the VM, the image has its libraries); real-node keeps to its
# ZFS cases here: init, the kill after every step (on one version), a rolled-back dataset.
default_suites=(
  test/integration/status.test.ts
  test/integration/scrub.test.ts
  test/integration/init.test.ts
  test/integration/replace-disk.test.ts
  test/integration/real-node.test.ts
  test/integration/zedlet.test.ts
)
# The ChironFS mode's NFS replica checks (issue 8), run when that branch has been merged.
[ ! -f test/integration/chironfs-nfs.test.ts ] || default_suites+=(test/integration/chironfs-nfs.test.ts)
read -r -a suites <<<"${LNSTORE_VM_SUITES:-${default_suites[*]}}"
read -r -a variants <<<"${LNSTORE_VM_VARIANTS:-openzfs-2.1 openzfs-2.3}"
timeout=${LNSTORE_VM_TIMEOUT:-2700}
# mocha's per-test limit is set here (15 min): .mocharc.cjs would make it four wait deadlines (40 min
# with the VM's 600 s), most of the VM's own --timeout. Under TCG a replace-disk case around the node
# takes minutes. The VM's hard --timeout above still bounds the whole run.

logs=$(mktemp -d "${TMPDIR:-/tmp}/lnstore-test-vm.XXXXXX")
trap 'rm -rf "$logs"' EXIT

# Build (or find) every variant's image first (a second on a warm cache).
[ -n "${LNSTORE_VM_IMAGE:-}" ] || test/vm/build-images.sh "${variants[@]}"
export LNSTORE_TEST_RESULT_LINES=1
# Waits in the tests for a condition (a mail, a scrub's end) get ten minutes under emulation, not 90 s.
export LNSTORE_TEST_WAIT_SECONDS=${LNSTORE_TEST_WAIT_SECONDS:-600}
# The variants run side by side: mocha in the guest keeps about one emulated CPU busy, so two VMs
# share the two host cores well. Each console goes to its own log, printed whole when it ends.
run_variant() { # variant -> LOG.result "VARIANT LOG EXIT SECONDS"
  local variant=$1 log=$logs/$1.log start=$SECONDS rc
  set +e
  test/vm/run.sh "$variant" --disks 20 --nfs --timeout "$timeout" -- \
    node node_modules/mocha/bin/mocha.js --timeout 900000 "${suites[@]}" 2>&1 \
    | if [ "${#variants[@]}" -eq 1 ]; then tee "$log"; else cat >"$log"; fi # one variant: live
  rc=${PIPESTATUS[0]}
  set -e
  printf '%s %s %s %s\n' "$variant" "$log" "$rc" "$((SECONDS - start))" >"$log.result"
}
# Two machines at a time (LNSTORE_VM_SLOTS, run.sh): the suites' two first, then each journey as a
# machine ends, so a suite that ends early does not leave its slot idle until the other ends.
export LNSTORE_VM_SLOTS=$logs/slots
mkdir -p "$LNSTORE_VM_SLOTS"
# The journeys CI runs: test/vm/ci-journeys (one NAME[:ARG][@VARIANT] a line, # comments), only
# journeys that pass on the merged code; test/vm/README.md lists the others and why they wait.
# LNSTORE_VM_JOURNEYS=none leaves them out.
ci_journeys=$(sed -e 's/#.*//' test/vm/ci-journeys | xargs)
journeys=${LNSTORE_VM_JOURNEYS:-$ci_journeys}
[ "$journeys" != none ] || journeys=""

echo "== ${variants[*]}, side by side: ${suites[*]}"
suite_pids=()
for variant in "${variants[@]}"; do
  run_variant "$variant" &
  suite_pids+=($!)
done
if [ -n "$journeys" ]; then
  # The suites take their slots first (they are the longest machines); then the journeys queue.
  until [ "$(grep -l "run.sh: booting" "$logs"/*.log 2>/dev/null | wc -l)" -ge "${#variants[@]}" ] \
    || [ -z "$(jobs -rp)" ]; do
    sleep 1
  done
  echo "== the operator journeys, each as a machine slot frees: $journeys"
  LNSTORE_VM_JOURNEYS=$journeys LNSTORE_VM_VARIANTS=${LNSTORE_VM_JOURNEY_VARIANTS:-${variants[*]}} \
    bash test/vm/journeys.sh >"$logs/journeys.out" 2>&1 &
  journeys_pid=$!
else
  echo "== no operator journeys in this run (LNSTORE_VM_JOURNEYS; test/vm/README.md lists them)"
fi
wait "${suite_pids[@]}"
status=0
summary_args=()
for variant in "${variants[@]}"; do
  [ -f "$logs/$variant.log.result" ] || printf '%s %s 125 0\n' "$variant" "$logs/$variant.log" >"$logs/$variant.log.result"
  read -r -a fields <"$logs/$variant.log.result"
  if [ "${#variants[@]}" -gt 1 ]; then
    echo "== console of $variant (exit ${fields[2]} after ${fields[3]} s):"
    cat "$logs/$variant.log"
  fi
  [ "${fields[2]}" -eq 0 ] || status=1
  summary_args+=("${fields[@]}")
done

node test/vm/summary.mjs "${summary_args[@]}"

# The operator journeys (test/vm/journeys.sh: systemd, the real lightningd, faults, the mailed
# advice): their output whole once they end, with their table.
if [ -n "$journeys" ]; then
  wait "$journeys_pid" || status=1
  cat "$logs/journeys.out"
fi
exit "$status"
