#!/usr/bin/env bash
# The operator journeys (test/vm/journeys/NN-*.sh) on real OpenZFS under systemd: each journey
# gets its own machine (run.sh --systemd --state DIR: its disks and root disk kept across boots),
# booted again as long as the journey asks for it (a reboot, or a power cut it asked the host for),
# then a table journey x OpenZFS version with the acknowledged and lost writes.
#
# Environment (all optional):
#   LNSTORE_VM_VARIANTS   variants, default "openzfs-2.1 openzfs-2.3"
#   LNSTORE_VM_JOURNEYS   journey scripts (names or paths, NAME:ARG passes ARG to the journey as
#                         LNSTORE_JOURNEY_ARG, NAME@VARIANT runs it on that variant only),
#                         default: every test/vm/journeys/[0-9]*.sh
#   LNSTORE_VM_TIMEOUT    hard limit per boot in seconds (default 1800)
#   LNSTORE_VM_PARALLEL   journeys (machines) at once, default 2
# Exit status: 0 when every journey passed on every variant, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

read -r -a variants <<<"${LNSTORE_VM_VARIANTS:-openzfs-2.1 openzfs-2.3}"
if [ -n "${LNSTORE_VM_JOURNEYS:-}" ]; then
  read -r -a journeys <<<"$LNSTORE_VM_JOURNEYS"
else
  journeys=(test/vm/journeys/[0-9]*.sh)
fi
timeout=${LNSTORE_VM_TIMEOUT:-1800}
max_boots=8

# lnstore as scripts/install.sh lays it out (journeys/packaged-files.mjs), packed once here: each
# machine installs it from this one file on the project share (journeys/lib.sh). Read file by file
# over 9p under emulation, the same copy took a minute or more of each journey's set-up.
package=node_modules/.cache/lnstore-journeys/lnstore.tar
mkdir -p "$(dirname "$package")"
node test/vm/journeys/packaged-files.mjs . | tar -cf "$package.$$" -T - && mv "$package.$$" "$package"

logs=$(mktemp -d "${TMPDIR:-/tmp}/lnstore-journeys.XXXXXX")
keep=${LNSTORE_VM_KEEP:-}
trap '[ -n "$keep" ] || rm -rf "$logs"' EXIT

# One journey on one variant: its machine booted again as long as it asks (exit 75), its consoles
# appended to LOG; writes "VARIANT NAME LOG EXIT SECONDS" to LOG.result for the table.
run_journey() { # variant journey-script name arg log state
  local variant=$1 journey=$2 name=$3 arg=$4 log=$5 state=$6 start=$SECONDS rc=75 boot=0
  while [ "$rc" -eq 75 ] && [ "$boot" -lt "$max_boots" ]; do
    boot=$((boot + 1))
    set +e
    # one at a time, the console also streams live (a developer watching one journey)
    LNSTORE_JOURNEY_NAME=$name LNSTORE_JOURNEY_ARG=$arg test/vm/run.sh "$variant" --systemd --state "$state" --disks 4 --timeout "$timeout" -- \
      bash "$journey" 2>&1 | if [ "$parallel" -eq 1 ]; then tee -a "$log"; else cat >>"$log"; fi
    rc=${PIPESTATUS[0]}
    set -e
  done
  [ -n "$keep" ] || rm -rf "$state"
  # Time spent waiting for a shared machine slot (LNSTORE_VM_SLOTS, run.sh) is not the journey's.
  local waited seconds
  waited=$(sed -n 's/.*run.sh: waited \([0-9]*\) s for a VM slot.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
  seconds=$((SECONDS - start - waited))
  printf '%s %s %s %s %s\n' "$variant" "$name" "$log" "$rc" "$seconds" >"$log.result"
  local slot_note=""
  [ "$waited" -eq 0 ] || slot_note=" (and $waited s waiting for a machine slot)"
  echo "== $name on $variant: exit $rc after $seconds s, $boot boot(s)$slot_note"
}

# Journeys run $parallel at a time: under TCG a journey's VM spends most of its time waiting (for a
# mail, a resilver, a boot) on one emulated CPU, so two machines share two host cores well. Each
# journey's consoles go to its own log, printed whole when it ends (never interleaved).
parallel=${LNSTORE_VM_PARALLEL:-2}
status=0
results=()
running=()
print_finished() {
  local i log
  for i in "${!running[@]}"; do
    log=${running[$i]}
    [ -f "$log.result" ] || continue
    if [ "$parallel" -gt 1 ]; then
      echo "== console of $(cut -d' ' -f2 "$log.result") on $(cut -d' ' -f1 "$log.result"):"
      cat "$log"
    fi
    unset 'running[i]'
    results+=("$log.result")
  done
  running=("${running[@]}")
}
wait_for_one() { # returns when a journey ended; one that died without a result counts as failed
  local rc=0 log
  wait -n || rc=$?
  if [ "$rc" -eq 127 ]; then
    for log in "${running[@]}"; do
      [ -f "$log.result" ] || printf '%s %s %s 125 0\n' unknown "$(basename "$log" .log)" "$log" >"$log.result"
    done
  fi
  print_finished
}
for variant in "${variants[@]}"; do
  for journey in "${journeys[@]}"; do
    # NAME@VARIANT runs only on that variant; NAME:ARG runs journey NAME with LNSTORE_JOURNEY_ARG=ARG
    # (e.g. 08-power-cut-during-replace:stop@openzfs-2.1)
    case "$journey" in *@*) [ "${journey##*@}" = "$variant" ] || continue; journey=${journey%@*} ;; esac
    arg=""
    case "$journey" in *:*) arg=${journey#*:}; journey=${journey%%:*} ;; esac
    [ -f "$journey" ] || journey=test/vm/journeys/${journey%.sh}.sh
    [ -f "$journey" ] || { echo "journeys.sh: no journey $journey" >&2; exit 2; }
    name=$(basename "$journey" .sh)${arg:+:$arg}
    safe=$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '-') # QEMU's -drive takes no commas in paths
    while [ "${#running[@]}" -ge "$parallel" ]; do
      wait_for_one
    done
    mkdir -p "$logs/$variant-$safe"
    echo "== $name on $variant: started"
    run_journey "$variant" "$journey" "$name" "$arg" "$logs/$variant-$safe.log" "$logs/$variant-$safe" &
    running+=("$logs/$variant-$safe.log")
  done
done
while [ "${#running[@]}" -gt 0 ]; do
  wait_for_one
done

summary_args=()
mapfile -t results < <(printf '%s\n' "${results[@]}" | sort) # the table in the order asked: variant, journey
for result in "${results[@]}"; do
  read -r -a fields <"$result"
  summary_args+=("${fields[@]}")
  [ "${fields[3]}" -eq 0 ] || status=1
done
node test/vm/journeys-summary.mjs "${summary_args[@]}"
[ -z "$keep" ] || echo "journeys.sh: kept $logs (consoles, disks)"
exit "$status"
