#!/bin/bash
# Journey 7: a permanent error inside lightningd.sqlite3 (the same blocks overwritten on both
# sides of the mirror, found with zdb, the pool exported meanwhile) -> lnstore status is CRITICAL,
# names the channel database and warns that restoring an older copy loses channels -> the gate
# refuses to start the node, and lightningd never runs on the damaged database.
. "$(dirname "$0")/lib.sh"

db=$DATA/regtest/lightningd.sqlite3
machine_writing
stop_writer
check_writes
systemctl start lnstore-check.service
systemctl stop lightningd.service
runs=$(grep -c 'Server started with public key' /var/log/lightningd.log)

dataset=$(zfs list -H -o name "$DATA") || fail "no dataset at $DATA"
obj=$(stat -c %i "$db")
zpool sync "$POOL"
mapfile -t blocks < <(zdb -ddddd "$dataset" "$obj" | grep -oE 'L0 +[0-9]+:[0-9a-f]+:[0-9a-f]+' \
  | awk '{ split($2, d, ":"); print d[2], d[3] }' | head -n 4)
[ "${#blocks[@]}" -gt 0 ] || fail "zdb listed no data blocks of $db"
zpool export "$POOL" || fail "zpool export $POOL"
for b in "${blocks[@]}"; do
  read -r off size <<<"$b"
  for i in 1 2; do # the same blocks on both sides: no good copy left
    dd if=/dev/urandom of="$(disk "$i")-part1" bs=512 seek=$(( (0x400000 + 0x$off) / 512 )) count=$(( 0x$size / 512 )) conv=notrunc,fsync status=none
  done
done
zpool import -d /dev/disk/by-id "$POOL" || fail "zpool import $POOL"
cat "$db" >/dev/null 2>&1 && fail "the damaged database still reads back whole: the fault did not take"
# The failed read is logged as a permanent error a moment later (the error log is kept per txg);
# "No known data errors" must not count as the listing (CI once ran status before the log had it).
wait_for 60 "ZFS lists a permanent error" bash -c "zpool status -v $POOL | grep -q 'Permanent errors'"

lnstore status >"$J/status.out" 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "lnstore status exits $rc with the channel database damaged (expected 2, CRITICAL)"
grep -q 'lightningd.sqlite3' "$J/status.out" || fail "lnstore status does not name the channel database: $(head -n 8 "$J/status.out" | tr '\n' ' ')"
grep -qiE 'older (copy|backup)' "$J/status.out" || fail "lnstore status does not warn that restoring an older copy loses channels: $(grep -i sqlite3 "$J/status.out" | head -n 3 | tr '\n' ' ')"
systemctl start lightningd.service && fail "the node started on a damaged database"
[ "$(grep -c 'Server started with public key' /var/log/lightningd.log)" = "$runs" ] || fail "lightningd ran on the damaged database"
journalctl --no-pager -u lightningd.service -o cat | grep -q CRITICAL || fail "lightningd.service failed, but not with lnstore preflight's CRITICAL"
pass "damaged channel database named CRITICAL with the older-copy warning; the gate kept lightningd from running"
