#!/bin/bash
# Journey 9: the node's data is not the newest it wrote -> at boot systemd starts lightningd
# through lnstore's gate (preflight install's ExecStartPre) -> the gate refuses, and lightningd
# (which would start silently on it: ../shared/prebuilt/README.md) never runs. Three faults on
# one machine, each followed by a reboot: the database deleted, an older copy put in place, and
# `zfs rollback` of the dataset. After each refusal the operator puts the newest data back and
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

case "$boot" in
  1)
    install_machine
    write_and_stop
    mv "$db" "$J/newest.sqlite3"
    say "deleted the database (kept aside off the pool); rebooting"
    reboot_next ;;
  2)
    expect_refused "deleted database"
    mv "$J/newest.sqlite3" "$db"
    start_again
    write_and_stop
    cp -p "$db" "$J/older.sqlite3"
    systemctl start lightningd.service && write_and_stop
    mv "$db" "$J/newest.sqlite3" && cp -p "$J/older.sqlite3" "$db"
    say "put an older copy of the database in place; rebooting"
    reboot_next ;;
  3)
    expect_refused "older database"
    mv "$J/newest.sqlite3" "$db"
    start_again
    dataset=$(zfs list -H -o name "$DATA") || fail "no dataset at $DATA"
    zfs snapshot "$dataset@journey" || fail "zfs snapshot"
    write_and_stop
    zfs rollback -r "$dataset@journey" || fail "zfs rollback"
    say "rolled $dataset back to an earlier snapshot; rebooting"
    reboot_next ;;
  4)
    expect_refused "zfs rollback"
    pass "deleted, older and rolled-back databases all refused at boot; lightningd never ran on them"
    ;;
esac
