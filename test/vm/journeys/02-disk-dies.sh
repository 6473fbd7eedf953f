#!/bin/bash
# Journey 2: a disk dies (hot-unplugged through QEMU's monitor, as when a disk or its cable goes)
# -> ZFS marks it REMOVED/UNAVAIL -> mail -> the mailed `lnstore replace-disk`, with only the new
# disk's path filled in and no extra flags -> status OK, node running, nothing lost.
. "$(dirname "$0")/lib.sh"

machine_in_service

before=$(mail_count)
say "unplugging disk 2: $(monitor 'device_del lnstore-disk2' | tr -d '\r' | tail -n 1)"
t0=$(now_ms)
wait_for 120 "ZFS notices disk 2 is gone" bash -c "zpool status $POOL | grep -E 'virtio-lnstore-disk2.*(REMOVED|UNAVAIL|FAULTED)|was /dev/disk/by-id/virtio-lnstore-disk2'"
say "pool: $(zpool status -x $POOL | grep -E 'state:' | tr -s ' ')"
wait_for 120 "an alert mail after the disk vanished" bash -c "[ \$(ls $MAILDIR/*.eml 2>/dev/null | wc -l) -gt $before ]"
mailed=$(( $(now_ms) - t0 ))

# A first mail may say less (a WARNING before the burst threshold); the advice comes with the
# CRITICAL one: wait for a mail that advises the replacement.
wait_for 180 "a mail advising 'lnstore replace-disk'" mailed_command '^lnstore replace-disk '
advice=$(mailed_command '^lnstore replace-disk ')
say "mailed advice: $advice"
command=${advice%%   (*}
command=${command//<new-device>/$(disk 3)}
say "operator runs: $command"
operator_runs "$command" || fail "the mailed command failed: $command"

check_recovered
stop_writer
check_writes
pass "mail ${mailed} ms after the unplug; '$command' recovered the node"
