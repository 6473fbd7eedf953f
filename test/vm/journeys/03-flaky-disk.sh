#!/bin/bash
# Journey 3: a flaky disk: device-mapper `flakey` under disk 2 silently drops the writes it gets
# for 1 s in every 10 (as a failing cable, controller cache or disk firmware does: the write is
# acknowledged and never lands), while a workload rewrites and reads back cold blocks of the pool
# -> blocks written in those seconds read back from disk 2 with a bad checksum, each repaired from
# disk 1: checksum errors trickle in -> lnstore's error alert reaches the operator *before* ZED
# acts on the disk (its checksum threshold, 10 in 10 min, DEGRADEs it; I/O errors would FAULT it).
#
# Why lost writes, not failed I/O or corrupted reads: a failed write or read makes ZFS probe the
# device at once, and a probe inside the flakey window fails: the kernel faults the disk on the
# first error, before any tool can say a word (a disk that fails I/O outright is journey 2). The
# flakey target's `corrupt_bio_byte ... r` does nothing on the image's kernel (Debian 12's 6.1: it
# corrupts read bios in their completion, when their iterator is spent; fixed upstream in 6.15,
# "dm-flakey: make corrupting read bios work"; tried in the VM: a read through it came back intact).
# Why a workload: the node's database lives in the ARC, so without reads that reach the disks a
# flaky disk shows nothing; a scrub reads everything within seconds and would bring ZED's 10 errors
# at once.
# Why disk 2 is made an SSD: a mirror reads each block from one side, chosen by load; between two
# spinning disks that choice follows the seek distance, so whether the flaky side was read within
# minutes was luck (2.1 read only disk 1 for 300 s in one run). Disk 2 is marked non-rotational (an
# SSD beside a spinning disk, a common home mirror) and the rotating side's load increments are
# raised, so every read goes to disk 2 on 2.1 and 2.3 alike: what an SSD/HDD mirror does anyway, made
# certain. `zpool iostat -v` shows the reads went there.
. "$(dirname "$0")/lib.sh"

flaky_disk=$(basename "$(readlink -f "$(disk 2)")")
echo 0 >"/sys/block/$flaky_disk/queue/rotational" || fail "cannot mark $flaky_disk non-rotational"
size=$(blockdev --getsz "$(disk 2)")
dmsetup create jflaky --table "0 $size linear $(disk 2) 0" || fail "dmsetup create jflaky"
dm=$(basename "$(readlink -f /dev/mapper/jflaky)")
[ "$(cat "/sys/block/$dm/queue/rotational")" = 0 ] || fail "jflaky ($dm) did not inherit non-rotational from $flaky_disk"
for p in zfs_vdev_mirror_rotating_inc zfs_vdev_mirror_rotating_seek_inc; do
  echo 1000 >"/sys/module/zfs/parameters/$p" || fail "cannot set the ZFS module parameter $p"
done
INIT_DEVICES="$(disk 1) /dev/mapper/jflaky" machine_in_service

# The cold workload: 8 MiB of incompressible data in a dataset whose data the ARC does not keep;
# every 2 s one 128K record rewritten (what the next txg writes while disk 2 drops writes is stale
# there) and eight read back (each read goes to one side of the mirror). With one read per round a
# stale record waited about two minutes on average to be read, and 2.1 once saw no checksum error in
# 300 s beside a loaded host; with eight, a few rounds. ZED's threshold still needs ten errors,
# about one stale record per 20 s of writing: minutes, where lnstore's mail takes seconds.
zfs create -o primarycache=metadata -o mountpoint=/srv/cold "$POOL/cold" || fail "zfs create $POOL/cold"
dd if=/dev/urandom of=/srv/cold/blob bs=128k count=64 conv=fsync status=none || fail "cannot write /srv/cold/blob"
systemd-run --unit=journey-cold-workload --quiet /bin/bash -c \
  'while :; do
     dd if=/dev/urandom of=/srv/cold/blob bs=128k count=1 seek=$((RANDOM % 64)) conv=notrunc status=none
     for read in 1 2 3 4 5 6 7 8; do dd if=/srv/cold/blob of=/dev/null bs=128k count=1 skip=$((RANDOM % 64)) status=none; done
     sleep 2
   done' || fail "cannot start the cold workload"

# Read operations ZFS sent to a side of the mirror since the pool was imported (zpool iostat -v).
reads_from() { zpool iostat -vp "$POOL" | awk -v side="$1" '$1 ~ side {print $4; exit}'; }
flaky_before=$(reads_from jflaky) spinning_before=$(reads_from disk1)
cksum_on_flaky() { zpool status -p "$POOL" | awk '/jflaky/ {print $5; exit}'; }
state_of_flaky() { zpool status "$POOL" | awk '/jflaky/ {print $2; exit}'; }
flaky_mail() { mails | grep -F jflaky | grep -qiE 'error'; }
before=$(mail_count)
dmsetup suspend jflaky && dmsetup load jflaky --table "0 $size flakey $(disk 2) 0 9 1 1 drop_writes" && dmsetup resume jflaky \
  || fail "cannot swap in the flakey target"
t0=$(now_ms)
wait_for 300 "ZFS counts a checksum error on the flaky disk" bash -c "[ \"\$(zpool status -p $POOL | awk '/jflaky/ {print \$5; exit}')\" -gt 0 ]"
first_error=$(now_ms)
say "first checksum error $(( (first_error - t0) / 1000 )) s after the disk turned flaky; reads since: $(( $(reads_from jflaky) - flaky_before )) from the flaky SSD side, $(( $(reads_from disk1) - spinning_before )) from the spinning side"
wait_for 300 "an alert mail naming the flaky disk and its errors" flaky_mail
mailed=$(( $(now_ms) - first_error ))
state=$(state_of_flaky) errors=$(cksum_on_flaky)
say "alert $((mailed / 1000)) s after the first error; the disk is $state with $errors checksum errors"
say "the mail: $(mails | grep -F jflaky | tail -n 1 | node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(m.subject + " | " + m.text.split("\n").filter((l) => /jflaky|error/i.test(l)).slice(0, 4).join(" | "))')"
[ "$state" = ONLINE ] || fail "ZED had acted on the disk ($state, $errors checksum errors) before lnstore's mail came, $((mailed / 1000)) s after the first error"
[ "$(mail_count)" -gt "$before" ] || fail "no new mail"

dmsetup suspend jflaky && dmsetup load jflaky --table "0 $size linear $(disk 2) 0" && dmsetup resume jflaky
systemctl stop journey-cold-workload.service
stop_writer
check_writes
pass "rate alert $((mailed / 1000)) s after the first checksum error, the disk still ONLINE with $errors errors (ZED acts at 10 in 10 min)"
