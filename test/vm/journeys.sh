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

logs=$(mktemp -d "${TMPDIR:-/tmp}/lnstore-journeys.XXXXXX")
keep=${LNSTORE_VM_KEEP:-}
trap '[ -n "$keep" ] || rm -rf "$logs"' EXIT
status=0
summary_args=()
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
    state=$logs/$variant-$safe
    log=$logs/$variant-$safe.log
    mkdir -p "$state"
    echo "== $name on $variant"
    start=$SECONDS rc=75 boot=0
    while [ "$rc" -eq 75 ] && [ "$boot" -lt "$max_boots" ]; do
      boot=$((boot + 1))
      set +e
      LNSTORE_JOURNEY_NAME=$name LNSTORE_JOURNEY_ARG=$arg test/vm/run.sh "$variant" --systemd --state "$state" --disks 4 --timeout "$timeout" -- \
        bash "$journey" 2>&1 | tee -a "$log"
      rc=${PIPESTATUS[0]}
      set -e
    done
    elapsed=$((SECONDS - start))
    echo "== $name on $variant: exit $rc after $elapsed s, $boot boot(s)"
    [ "$rc" -eq 0 ] || status=1
    [ -n "$keep" ] || rm -rf "$state"
    summary_args+=("$variant" "$name" "$log" "$rc" "$elapsed")
  done
done

node test/vm/journeys-summary.mjs "${summary_args[@]}"
[ -z "$keep" ] || echo "journeys.sh: kept $logs (consoles, disks)"
exit "$status"
