#!/bin/bash
# Journey 4: every side of the mirror gets I/O errors at once (zinject -e io on both disks) ->
# lnstore's verdict points at what the disks share (cable, controller, power) -> and its advice
# does not tell the operator to replace disks.
. "$(dirname "$0")/lib.sh"

machine_in_service
before=$(mail_count)
for i in 1 2; do
  zinject -d "$(disk "$i")-part1" -e io -T read -f 25 "$POOL" || fail "zinject refused the I/O fault on disk $i"
done
zpool scrub "$POOL"
wait_for 180 "ZFS counts read errors on both disks" bash -c "zpool status -p $POOL | awk '/virtio-lnstore-disk[12]/ && \$3 > 0 {n++} END {exit n < 2}'"
wait_for 120 "an alert mail" bash -c "[ \$(ls $MAILDIR/*.eml 2>/dev/null | wc -l) -gt $before ]"
zinject -c all >/dev/null
lnstore status >"$J/status.out" 2>&1
grep -qiE 'cable|controller|power supply|every (side|device)|all (sides|devices)' "$J/status.out" \
  || fail "lnstore status does not point at what both disks share: $(head -n 10 "$J/status.out" | tr '\n' ' ')"
mailed_command '^lnstore replace-disk ' >/dev/null && fail "a mail advises replacing a disk although every side errs: $(mailed_command '^lnstore replace-disk ')"
grep -q 'lnstore replace-disk' "$J/status.out" && fail "lnstore status advises replacing a disk although every side errs"
stop_writer
check_writes
pass "both sides erring: the shared-cause verdict, no replace-disk advice"
