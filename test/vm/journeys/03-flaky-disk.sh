#!/bin/bash
# Journey 3: a flaky disk (device-mapper `flakey` under disk 2: it fails every I/O for 1 s out of
# every 4) -> lnstore's error-rate alert reaches the operator *before* ZED faults the disk.
. "$(dirname "$0")/lib.sh"

size=$(blockdev --getsz "$(disk 2)")
dmsetup create jflaky --table "0 $size linear $(disk 2) 0" || fail "dmsetup create jflaky"
INIT_DEVICES="$(disk 1) /dev/mapper/jflaky" machine_in_service
before=$(mail_count)
dmsetup suspend jflaky && dmsetup load jflaky --table "0 $size flakey $(disk 2) 0 3 1" && dmsetup resume jflaky \
  || fail "cannot swap in the flakey target"
t0=$(now_ms)
zpool scrub "$POOL"
wait_for 300 "an alert mail about the flaky disk" bash -c "[ \$(ls $MAILDIR/*.eml 2>/dev/null | wc -l) -gt $before ]"
mailed=$(( $(now_ms) - t0 ))
state=$(zpool status "$POOL" | awk '/jflaky/ {print $2}')
[ "$state" != FAULTED ] || fail "ZED had faulted the disk before lnstore's first mail (${mailed} ms)"
mails | tail -n 1 | grep -qiE 'error' || fail "the mail does not speak of errors: $(mails | tail -n 1 | cut -c1-300)"
dmsetup suspend jflaky && dmsetup load jflaky --table "0 $size linear $(disk 2) 0" && dmsetup resume jflaky
stop_writer
check_writes
pass "rate alert ${mailed} ms after the disk turned flaky, the disk still $state"
