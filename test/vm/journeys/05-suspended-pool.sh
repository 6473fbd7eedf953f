#!/bin/bash
# Journey 5: every side of the mirror fails at once (device-mapper `error` target under both,
# failmode=wait) -> the pool is SUSPENDED -> lnstore status answers (every zpool call bounded)
# with CRITICAL "suspended" (not UNAVAIL), a mail comes through ZED's io_failure/statechange
# event -> the cause fixed (the disks' tables back), the advised `zpool clear` resumes the pool,
# the node runs, nothing lost.
. "$(dirname "$0")/lib.sh"

for i in 1 2; do
  dmsetup create "jd$i" --table "0 $(blockdev --getsz "$(disk "$i")") linear $(disk "$i") 0" || fail "dmsetup create jd$i"
done
INIT_DEVICES="/dev/mapper/jd1 /dev/mapper/jd2" install_machine
zpool set failmode=wait "$POOL"
start_writer
wait_for 120 "the writer's first acknowledged writes" acked_at_least 5
systemctl start lnstore-check.service

before=$(mail_count)
for i in 1 2; do
  dmsetup suspend "jd$i" && dmsetup load "jd$i" --table "0 $(blockdev --getsz "$(disk "$i")") error" && dmsetup resume "jd$i" \
    || fail "cannot swap in the error target under jd$i"
done
say "both sides now fail every I/O"
stop_writer &
wait_for 300 "the pool is suspended" bash -c "zpool status $POOL 2>&1 | grep -qiE 'suspended|state: (SUSPENDED|UNAVAIL)'"
started=$(date +%s)
timeout 240 /usr/local/bin/lnstore status >"$J/status.out" 2>&1; rc=$?
took=$(( $(date +%s) - started ))
[ "$rc" -ne 124 ] || fail "lnstore status did not answer within 240 s on a suspended pool"
grep -qi 'suspended' "$J/status.out" || fail "lnstore status (exit $rc, ${took} s) does not say SUSPENDED: $(head -n 6 "$J/status.out" | tr '\n' ' ')"
[ "$rc" -eq 2 ] || fail "lnstore status exits $rc on a suspended pool (expected 2, CRITICAL)"
wait_for 120 "an alert mail about the suspended pool" bash -c "[ \$(ls $MAILDIR/*.eml 2>/dev/null | wc -l) -gt $before ]"

for i in 1 2; do
  dmsetup suspend "jd$i" && dmsetup load "jd$i" --table "0 $(blockdev --getsz "$(disk "$i")") linear $(disk "$i") 0" && dmsetup resume "jd$i" \
    || fail "cannot put jd$i's table back"
done
# The SUSPENDED finding's `next:` line, run as printed (`zpool clear POOL && lnstore status`): its
# exit status is the status check's, so the clear itself is judged by the pool resuming.
advice=$(sed -n 's/^ *next: \(zpool clear .*\)$/\1/p' "$J/status.out" | head -n 1)
[ -n "$advice" ] || fail "lnstore status does not advise zpool clear for the suspended pool: $(grep -i -A1 suspended "$J/status.out" | head -n 4 | tr '\n' ' ')"
say "the disks are back; operator runs: $advice"
timeout 300 bash -c "$advice" >"$J/after-clear.out" 2>&1
zpool status "$POOL" | grep -qiE 'suspended|state: UNAVAIL' && fail "'$advice' did not resume the pool: $(head -n 5 "$J/after-clear.out" | tr '\n' ' ')"
# Writes that missed a side while the pool was suspended are resilvered once it resumes, and
# reads that failed meanwhile may be listed as permanent errors: the operator waits for the
# resilver, then reads lnstore status again and follows what it advises until it says OK (at most
# twice: each piece of advice must get the pool there, not send the operator round in circles).
timeout 600 zpool wait -t resilver "$POOL" || fail "the resilver after '$advice' did not end within 600 s"
again=""
for round in 1 2 3; do
  lnstore status >"$J/status-resumed.out" 2>&1 && break
  [ "$round" -lt 3 ] || fail "lnstore status is still not OK after following its advice twice ($again): $(head -n 8 "$J/status-resumed.out" | tr '\n' ' ')"
  next=$(sed -n 's/^ *next: //p' "$J/status-resumed.out" | head -n 1)
  [ -n "$next" ] || fail "lnstore status after the clear is not OK and advises nothing: $(head -n 8 "$J/status-resumed.out" | tr '\n' ' ')"
  say "lnstore status after the clear: $(head -n 1 "$J/status-resumed.out"); operator runs: $next"
  timeout 600 bash -c "$next" || fail "the advised '$next' failed: $(tail -n 5 "$J/status-resumed.out" | tr '\n' ' ')"
  again=${again:+$again, then }$next
done
systemctl is-active --quiet lightningd.service || systemctl restart lightningd.service
check_recovered
pass "suspended pool said in ${took} s, mailed, '$advice' resumed it${again:+, then '$again'}"
