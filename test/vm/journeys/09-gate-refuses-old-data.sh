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
  systemctl reset-failed lightningd.service
  systemctl start lightningd.service || fail "the node does not start on its newest data: $(journalctl -b --no-pager -u lightningd.service -o cat | tail -n 5 | tr '\n' ' ')"
  wait_for 180 "the node answers getinfo" cli getinfo
  check_writes
}

# Each fault keeps the newest database aside (off the pool) to put it back after the refusal.
# Order: older copy, rollback, deletion (a rollback cannot be undone, but the newest copy is kept).
fault() { # name
  cp -p "$db" "$J/newest.sqlite3"
  case "$1" in
    older) cp -p "$J/older.sqlite3" "$db" ;;
    rollback) zfs rollback -r "$dataset@journey" || fail "zfs rollback" ;;
    deleted) rm -f "$db" ;;
  esac
  echo "$1" >"$J/fault"
  say "fault: $1 database; rebooting"
  reboot_next
}
put_back_newest() { cp -p "$J/newest.sqlite3" "$db"; }

dataset=$(zfs list -H -o name "$DATA" 2>/dev/null)
case "$boot" in
  1)
    install_machine
    dataset=$(zfs list -H -o name "$DATA") || fail "no dataset at $DATA"
    write_and_stop
    cp -p "$db" "$J/older.sqlite3"
    systemctl start lightningd.service || fail "the node does not start again"
    write_and_stop
    fault older ;;
  2)
    expect_refused "older database"
    put_back_newest
    start_again
    zfs snapshot "$dataset@journey" || fail "zfs snapshot"
    write_and_stop
    fault rollback ;;
  3)
    expect_refused "zfs rollback"
    put_back_newest
    start_again
    write_and_stop
    fault deleted ;;
  4)
    expect_refused "deleted database"
    put_back_newest
    start_again
    pass "an older copy, a zfs rollback and a deleted database each refused at boot; lightningd never ran on them; the newest data starts again, nothing lost"
    ;;
esac
