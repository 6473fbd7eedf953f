#!/bin/bash
# Journey 9: the node's data is not the newest it wrote -> at boot systemd starts lightningd
# through lnstore's gate (preflight install's ExecStartPre) -> the gate refuses, and lightningd
# (which would start silently on it: ../shared/prebuilt/README.md) never runs. Three faults on
# one machine, each followed by a reboot: an older copy put in place, `zfs rollback` of the
# dataset, and the database deleted. After each refusal the operator puts the newest data back and
# the node starts again with nothing lost.
. "$(dirname "$0")/lib.sh"

db=$DATA/regtest/lightningd.sqlite3
node_runs() { grep -c 'Server started with public key' /var/log/lightningd.log 2>/dev/null || echo 0; }
# Some writes, then the check timer's run (lnstore notes the data_version), then the node stops.
write_and_stop() {
  local target=$(( $(wc -l <"$ACKED" 2>/dev/null || echo 0) + 5 ))
  start_writer
  wait_for 180 "5 more acknowledged writes" acked_at_least "$target"
  stop_writer
  systemctl start lnstore-check.service
  systemctl stop lightningd.service
  node_runs >"$J/runs-before-boot"
}
# At boot: systemd tried the node, the gate said no, lightningd itself never ran.
expect_refused() { # what
  wait_for 300 "systemd's start of lightningd.service ends (refused by the gate)" \
    bash -c '! systemctl is-active --quiet lightningd.service && systemctl show -p ExecMainStartTimestampMonotonic,Result lightningd.service | grep -q "Result=exit-code"'
  [ "$(node_runs)" = "$(cat "$J/runs-before-boot")" ] || fail "$1: lightningd started at boot on that data"
  # The refusal must be the gate's (a CRITICAL from lnstore preflight), not any other failure.
  journalctl -b --no-pager -u lightningd.service -o cat | grep -q 'CRITICAL' \
    || fail "$1: lightningd.service failed at boot, but not with lnstore preflight's CRITICAL: $(journalctl -b --no-pager -u lightningd.service -o cat | tail -n 5 | tr '\n' ' ')"
  say "$1: refused at boot; lightningd did not run. Gate: $(journalctl -b --no-pager -u lightningd.service -o cat | grep -iE 'CRITICAL|refus' | head -n 2 | tr '\n' ' ')"
}
start_again() {
  systemctl reset-failed lightningd.service 2>/dev/null
  # With the newest data back, the operator follows the gate's advice: after a rollback it asks
  # for a deliberate `lnstore preflight ack` ("make sure the node data is the newest it wrote").
  if ! lnstore preflight >"$J/preflight.out" 2>&1 && grep -q 'then: lnstore preflight ack' "$J/preflight.out"; then
    say "the gate advises: $(grep -o 'next: .*lnstore preflight ack' "$J/preflight.out" | head -n 1); the operator runs it"
    operator_runs "lnstore preflight ack" || fail "lnstore preflight ack, as advised, failed"
  fi
  systemctl start lightningd.service || fail "the node does not start on its newest data: $(journalctl -b --no-pager -u lightningd.service -o cat | tail -n 5 | tr '\n' ' ')"
  wait_for 180 "the node answers getinfo" cli getinfo
  check_writes
}

# LNSTORE_JOURNEY_ARG: the faults, in order, comma-separated (default older,rollback,deleted).
# Each one: its set-up, the fault with the newest database kept aside (off the pool), a reboot;
# at the next boot the gate must refuse, then the newest copy goes back and the node starts.
IFS=, read -r -a faults <<<"${LNSTORE_JOURNEY_ARG:-older,rollback,deleted}"
dataset=$(zfs list -H -o name "$DATA" 2>/dev/null)
next_fault() { # name
  case "$1" in
    older) cp -p "$db" "$J/older.sqlite3"; start_again; write_and_stop ;;
    rollback) zfs snapshot "$dataset@journey$boot" || fail "zfs snapshot"; start_again; write_and_stop ;;
    deleted) ;;
    *) fail "unknown fault '$1' (older, rollback, deleted)" ;;
  esac
  cp -p "$db" "$J/newest.sqlite3"
  case "$1" in
    older) cp -p "$J/older.sqlite3" "$db" ;;
    rollback) zfs rollback -r "$dataset@journey$boot" || fail "zfs rollback" ;;
    deleted) rm -f "$db" ;;
  esac
  say "fault: $1 database; rebooting"
  reboot_next
}

if [ "$boot" = 1 ]; then
  install_machine
  dataset=$(zfs list -H -o name "$DATA") || fail "no dataset at $DATA"
  write_and_stop
  next_fault "${faults[0]}"
fi
done_fault=${faults[$((boot - 2))]}
expect_refused "$done_fault database"
cp -p "$J/newest.sqlite3" "$db"
if [ "$((boot - 1))" -lt "${#faults[@]}" ]; then
  next_fault "${faults[$((boot - 1))]}"
fi
start_again
pass "${faults[*]}: each refused at boot by lnstore's gate, lightningd never ran on it; the newest data starts again, nothing lost"
