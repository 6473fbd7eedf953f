#!/bin/bash
# Journey 8: a power cut during `lnstore replace-disk`, right after step LNSTORE_JOURNEY_ARG
# (a step id of the replace runbook: self-test, record, stop, replace, resilver, verify-pool,
# verify-data, clear; default replace) ->
# the machine boots again, systemd starts the node through lnstore's gate -> the outcome is safe
# and said: the node kept down with a CRITICAL naming the open run, or started on verified data
# -> the operator runs the `--resume` lnstore advises -> status OK, node running, nothing lost.
. "$(dirname "$0")/lib.sh"

cut_after=${LNSTORE_JOURNEY_ARG:-replace}
journal=/var/lib/lnstore/runbooks/replace-disk.json
step_done() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.exit(j.steps.some((s)=>s.id===process.argv[2]&&s.status==="done")?0:1)' "$journal" "$1"; }

case "$boot" in
  1)
    machine_writing
    systemctl start lnstore-check.service
    # A healthy disk of a two-way mirror, replaced by disk 3 in another slot: it stays in the pool
    # (beside disk 3 in a replacing vdev) until the resilver ends, so no flag is needed.
    say "operator runs: lnstore replace-disk virtio-lnstore-disk2 $(disk 3)"
    systemd-run --unit=journey-replace --quiet --setenv=LNSTORE_YES=1 /usr/local/bin/lnstore replace-disk virtio-lnstore-disk2 "$(disk 3)"
    wait_for 900 "replace-disk finished its step '$cut_after'" step_done "$cut_after"
    stop_writer
    # Disk 2 is never taken out: ONLINE (beside disk 3 in a replacing vdev while the resilver runs), or detached once it is over.
    zpool status "$POOL" >"$J/status-at-cut.out" 2>&1
    if grep -Eq 'virtio-lnstore-disk2(-part[0-9]+)?[[:space:]]+(OFFLINE|REMOVED)' "$J/status-at-cut.out"; then
      fail "replace-disk took disk 2 out before the resilver ended: $(tr -s ' \t\n' ' ' <"$J/status-at-cut.out")"
    fi
    say "at the cut: $(grep -E 'scan:|replacing|virtio-lnstore-disk[23]' "$J/status-at-cut.out" | tr -s ' \t' ' ' | tr '\n' ';')"
    say "replace-disk's journal: step '$cut_after' done; cutting the power"
    power_cut ;;
  *)
    # systemd starts the node at boot through the gate; wait until that attempt has an outcome.
    wait_for 300 "systemd's start of lightningd.service at boot has an outcome" \
      bash -c 's=$(systemctl show -p ActiveState --value lightningd.service); [ "$s" = active ] || [ "$s" = failed ] || [ "$s" = inactive ]'
    state=$(systemctl show -p ActiveState --value lightningd.service)
    lnstore status >"$J/status-after-cut.out" 2>&1; status_rc=$?
    if [ "$state" = active ]; then
      say "after the power cut the gate let the node start; checking its data"
      wait_for 180 "the node answers getinfo" cli getinfo
      check_writes
    else
      say "after the power cut the gate kept the node down ($state); lnstore status exit $status_rc"
      grep -q 'replace-disk' "$J/status-after-cut.out" || fail "the node is down after the power cut but lnstore status does not name the open replace-disk run: $(head -n 8 "$J/status-after-cut.out" | tr '\n' ' ')"
    fi
    if [ -f "$journal" ] && node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.exit(j.state==="running"||j.state==="failed"?0:1)' "$journal"; then
      # The `next:` line as printed (the message quotes the command too, in backticks).
      advice=$(sed -n 's/^ *next: \(lnstore replace-disk --resume.*\)$/\1/p' "$J/status-after-cut.out" | head -n 1)
      [ -n "$advice" ] || fail "the replace-disk run is open but lnstore status does not advise --resume: $(head -n 8 "$J/status-after-cut.out" | tr '\n' ' ')"
      say "operator runs: $advice"
      operator_runs "$advice" || fail "the advised '$advice' failed"
    fi
    check_recovered
    pass "power cut after '$cut_after': node ${state} at boot, then recovered"
    ;;
esac
