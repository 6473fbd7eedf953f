#!/usr/bin/env bash
# Capture real `zpool status` / `zpool list` / `zpool get` output in many pool states, for the
# unit tests of lnstore's status reader. Runs INSIDE the VM, on the runner's blank disks:
#
#   test/vm/run.sh openzfs-2.3 --disks 8 -- bash test/vm/capture-fixtures.sh
#   test/vm/run.sh openzfs-2.1 --disks 8 -- bash test/vm/capture-fixtures.sh
#
# Writes test/fixtures/zpool-status/openzfs-<version>/NNN-<state>[-<flags>].<ext> verbatim and
# records each file in that folder's sources.json (command, state, version; exit_status when not 0).
#   .txt  `zpool status` text (and `zpool import` listings), .json  `zpool status -j`,
#   .tsv  `zpool list -H` / `zpool get -H` output (not status output: readers of status skip them).
# A file holds the command's stdout; when stdout is empty and stderr is not ("no pools available"),
# it holds stderr and its entry says "stream": "stderr"; other stderr text goes into the entry.
# Files this script wrote on an earlier run are replaced; files from other sources are left alone.
# Numbering starts at 101, clear of the hand-picked 0NN fixtures.
# DESTROYS everything on the disks in LNSTORE_TEST_DISKS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
prog=capture-fixtures.sh
source_text="captured in lnstore's VM tier by test/vm/capture-fixtures.sh"

log() { printf '%s %s: %s\n' "$(date +%H:%M:%S)" "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

[ "${LNSTORE_TEST_ZFS:-}" = kernel ] \
  || die "this script wipes disks and runs only inside the VM: test/vm/run.sh openzfs-2.3 --disks 8 -- bash test/vm/capture-fixtures.sh"
read -r -a D <<<"${LNSTORE_TEST_DISKS:-}"
[ "${#D[@]}" -ge 8 ] || die "needs 8 blank disks, got ${#D[@]}: run it with --disks 8"
for d in "${D[@]}"; do [ -b "$d" ] || die "$d is not a block device"; done

zfs_version_text=$(zfs version)
version=$(sed -nE '1s/^zfs-([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' <<<"$zfs_version_text")
[ -n "$version" ] || die "cannot read the OpenZFS version from: $zfs_version_text"
out=$project/test/fixtures/zpool-status/openzfs-$version
mkdir -p "$out"
case "$version" in 2.0.*|2.1.*|2.2.*|0.*) json=no ;; *) json=yes ;; esac
suspend=/sys/module/zfs/parameters/zfs_scan_suspend_progress
[ -w "$suspend" ] || die "$suspend is missing: cannot hold scans in progress"

tmp=$(mktemp -d)
zed_pid=""
cleanup() {
  local rc=$?
  [ -z "$zed_pid" ] || kill "$zed_pid" 2>/dev/null || true
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

# --- forget the files of an earlier run of this script ------------------------------------------
if [ -f "$out/sources.json" ]; then
  node - "$out" "$source_text" <<'EOF'
const fs = require('fs'), path = require('path');
const [dir, source] = process.argv.slice(2);
const file = path.join(dir, 'sources.json');
const sources = JSON.parse(fs.readFileSync(file, 'utf8'));
for (const [name, entry] of Object.entries(sources)) {
  if (entry.source !== source) continue;
  fs.rmSync(path.join(dir, name), {force: true});
  delete sources[name];
}
fs.writeFileSync(file, JSON.stringify(sources, null, 2) + '\n');
EOF
fi

# --- capture helpers ----------------------------------------------------------------------------
echo 100 >"$tmp/n"
: >"$tmp/records"

# cap NAME.EXT "state description" command...: save the command's output verbatim as NNN-NAME.EXT
cap() {
  local name=$1 state=$2; shift 2
  local n file rc=0 stream=stdout
  n=$(( $(cat "$tmp/n") + 1 )); echo "$n" >"$tmp/n"
  file=$(printf '%03d-%s' "$n" "$name")
  "$@" >"$out/$file" 2>"$tmp/stderr.$n" || rc=$?
  if [ ! -s "$out/$file" ] && [ -s "$tmp/stderr.$n" ]; then
    cp "$tmp/stderr.$n" "$out/$file"
    : >"$tmp/stderr.$n"
    stream=stderr
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$*" "$state" "$rc" "$stream" "$tmp/stderr.$n" >>"$tmp/records"
  log "  $file  ($*; exit $rc; $stream)"
}

# snap BASE "state": the status family for one state
snap() {
  local base=$1 state=$2
  cap "$base.txt" "$state" zpool status
  cap "$base-p.txt" "$state" zpool status -p
  if [ "$json" = yes ]; then
    cap "$base-j.json" "$state" zpool status -j
    cap "$base-j-int.json" "$state" zpool status -j --json-int
  fi
}
# xlist BASE "state": -x and the machine-readable list of the same state
xlist() {
  local base=$1 state=$2
  cap "$base-x.txt" "$state" zpool status -x
  cap "$base-list-Hp.tsv" "$state" zpool list -Hp
  cap "$base-list-o.tsv" "$state" zpool list -H -o name,size,alloc,free,cap,health -p
}

# in STATUS-PATTERN POOL: does `zpool status POOL` match the extended regex?
in_status() { zpool status "$2" 2>&1 | grep -Eq "$1"; }
wait_status() { # pattern pool seconds
  local i
  for ((i = 0; i < $3 * 5; i++)); do in_status "$1" "$2" && return 0; sleep 0.2; done
  log "  timed out waiting for /$1/ in zpool status $2:"; zpool status "$2" >&2 || true
  return 1
}
part() { echo "$1-part1"; }
fill() { # pool MiB: a file of random data, flushed to disk
  dd if=/dev/urandom of="/$1/data" bs=1M count="$2" status=none
  zpool sync "$1"
}
corrupt() { # device MiB-offset MiB-count: random bytes over the data area of a vdev partition
  dd if=/dev/urandom of="$1" bs=1M seek="$2" count="$3" conv=notrunc,fsync status=none
}
hold_scans() { echo "$1" >"$suspend"; }

reset_disks() {
  local p d
  hold_scans 0
  for p in $(zpool list -H -o name 2>/dev/null); do zpool destroy -f "$p" || true; done
  dmsetup remove --retry lnflaky1 2>/dev/null || true
  dmsetup remove --retry lncrypt1 2>/dev/null || true
  dmsetup remove --retry lnslow1 lnslow2 lnslow3 2>/dev/null || true
  for d in "${D[@]}"; do
    zpool labelclear -f "$(part "$d")" 2>/dev/null || true
    wipefs -q -a "$d" 2>/dev/null || true
  done
  udevadm settle
}

failed=()
scenario() { # name function
  log "== $1"
  local rc
  set +e
  ( set -e; "$2" )   # a plain command, so that errexit works inside it
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then log "scenario $1 FAILED (exit $rc); going on"; failed+=("$1"); fi
  reset_disks
}

# --- scenarios ----------------------------------------------------------------------------------
s_no_pools() {
  cap no-pools.txt "no pools imported" zpool status
  cap no-pools-x.txt "no pools imported" zpool status -x
  [ "$json" = no ] || cap no-pools-j.json "no pools imported" zpool status -j
  cap no-pools-list-Hp.tsv "no pools imported" zpool list -Hp
}

s_mirror() {
  zpool create tank mirror "${D[0]}" "${D[1]}"
  fill tank 64
  local st="2-way mirror of whole disks (by-id names), ONLINE, never scrubbed, 64M written"
  snap mirror-healthy "$st"
  xlist mirror-healthy "$st"
  cap mirror-healthy-x-tank.txt "$st" zpool status -x tank
  cap mirror-healthy-get-Hp-all.tsv "$st" zpool get -Hp all tank
  cap mirror-healthy-upper-P.txt "$st" zpool status -P
  cap mirror-healthy-upper-L.txt "$st" zpool status -L
  cap mirror-healthy-g.txt "$st" zpool status -g
  cap mirror-healthy-t.txt "$st; trim not run" zpool status -t
  cap mirror-healthy-s.txt "$st" zpool status -s
  cap mirror-healthy-i.txt "$st; never initialized" zpool status -i
  cap mirror-healthy-upper-D.txt "$st" zpool status -D
  cap mirror-healthy-v.txt "$st" zpool status -v
  cap mirror-healthy-tank-p.txt "$st" zpool status -p tank
  if [ "$json" = yes ]; then
    cap mirror-healthy-e.txt "$st" zpool status -e
    cap mirror-healthy-j-flat.json "$st" zpool status -j --json-flat-vdevs
    cap mirror-healthy-j-guid.json "$st" zpool status -j --json-pool-key-guid
  fi

  zpool trim tank || true
  cap mirror-trim-t.txt "2-way mirror right after 'zpool trim' was asked for" zpool status -t
  zpool wait -t trim tank 2>/dev/null || true
  cap mirror-trim-done-t.txt "2-way mirror after 'zpool trim' ended" zpool status -t

  zpool initialize tank
  cap mirror-initializing-i.txt "2-way mirror right after 'zpool initialize'" zpool status -i
  zpool wait -t initialize tank
  cap mirror-initialized-i.txt "2-way mirror after 'zpool initialize' completed" zpool status -i
}

s_scrubs() {
  zpool create tank mirror "${D[0]}" "${D[1]}"
  fill tank 200
  # Let the scrub make some progress, then freeze it (zfs_scan_suspend_progress) so it stays "in progress".
  zpool scrub tank
  sleep 1
  hold_scans 1
  if ! in_status 'scrub in progress' tank; then
    log "  the scrub finished within a second; starting one that is held at once"
    zpool scrub tank
  fi
  wait_status 'scrub in progress' tank 10
  local pct
  pct=$(zpool status tank | grep -o '[0-9.]*% done' || true)
  snap scrub-in-progress "2-way mirror, scrub in progress, held at ${pct:-?} with zfs_scan_suspend_progress=1, 200M written"
  xlist scrub-in-progress "2-way mirror, scrub in progress (${pct:-?})"
  zpool scrub -s tank
  wait_status 'scrub canceled' tank 10
  zpool scrub tank
  wait_status 'scrub in progress' tank 10
  snap scrub-just-started "2-way mirror, scrub held right at its start (0B scanned) with zfs_scan_suspend_progress=1"
  zpool scrub -p tank
  wait_status 'scrub paused' tank 10
  snap scrub-paused "2-way mirror, scrub paused with 'zpool scrub -p'"
  zpool scrub tank
  wait_status 'scrub in progress' tank 10
  snap scrub-resumed "2-way mirror, paused scrub resumed with 'zpool scrub' (held in progress)"
  zpool scrub -s tank
  wait_status 'scrub canceled' tank 10
  snap scrub-canceled "2-way mirror, scrub canceled with 'zpool scrub -s'"
  hold_scans 0
  zpool scrub -w tank
  snap scrub-finished "2-way mirror, scrub finished with 0 errors, nothing repaired"
  xlist scrub-finished "2-way mirror, scrub finished clean"

  # Checksum errors: garbage over part of one side's data area while exported, then scrub.
  zpool export tank
  corrupt "$(part "${D[0]}")" 16 120
  zpool import -d /dev/disk/by-id tank
  zpool scrub -w tank
  local st="2-way mirror, scrub repaired CKSUM errors on one side (random bytes written over its data area)"
  snap scrub-repaired-cksum "$st"
  xlist scrub-repaired-cksum "$st"
  cap scrub-repaired-cksum-v.txt "$st" zpool status -v
  [ "$json" = no ] || cap scrub-repaired-cksum-e.txt "$st" zpool status -e
  cap scrub-repaired-cksum-get-Hp-all.tsv "$st" zpool get -Hp all tank

  # DEGRADED by offline (errors still counted), then FAULTED by a forced offline.
  zpool offline tank "${D[1]}"
  st="2-way mirror DEGRADED: one side taken offline with 'zpool offline' (CKSUM count left on the other)"
  snap degraded-offline "$st"
  xlist degraded-offline "$st"
  [ "$json" = no ] || cap degraded-offline-e.txt "$st" zpool status -e
  zpool online tank "${D[1]}"
  zpool wait -t resilver tank
  zpool clear tank
  snap online-after-offline "2-way mirror after 'zpool online' and 'zpool clear' (resilver of the offline window done)"
  zpool offline -f tank "${D[1]}"
  st="2-way mirror DEGRADED: one side FAULTED with 'zpool offline -f' (external fault)"
  snap faulted-offline-f "$st"
  xlist faulted-offline-f "$st"
  zpool clear tank "${D[1]}" || true
  zpool online tank "${D[1]}" || true
}

slow_dev() { # name disk delay-ms: a device-mapper 'delay' device over a disk (reload to change the delay)
  local sectors
  sectors=$(blockdev --getsz "$2")
  if [ -e "/dev/mapper/$1" ]; then
    dmsetup suspend "$1"
    dmsetup load "$1" --table "0 $sectors delay $2 0 $3"
    dmsetup resume "$1"
  else
    dmsetup create "$1" --table "0 $sectors delay $2 0 $3"
  fi
}
pct_done() { zpool status "$1" | grep -oE '[0-9.]+% done' | cut -d% -f1; }
wait_part_way() { # pool: until the running scan is between 2% and 90% done
  local i p
  for ((i = 0; i < 300; i++)); do
    p=$(pct_done "$1")
    if [ -n "$p" ] && awk -v p="$p" 'BEGIN { exit !(p >= 2 && p <= 90) }'; then return 0; fi
    sleep 0.2
  done
  log "  the scan never got part-way (last: ${p:-none}% done)"
  return 1
}

s_scans_part_way() {
  # Scans caught part-way, on disks slowed down by device-mapper 'delay' targets.
  slow_dev lnslow1 "${D[0]}" 0
  slow_dev lnslow2 "${D[1]}" 0
  slow_dev lnslow3 "${D[2]}" 0
  udevadm settle
  zpool create -f tank mirror /dev/mapper/lnslow1 /dev/mapper/lnslow2
  fill tank 128
  slow_dev lnslow1 "${D[0]}" 100
  slow_dev lnslow2 "${D[1]}" 100
  slow_dev lnslow3 "${D[2]}" 100
  # Once part-way, the scan is held there (zfs_scan_suspend_progress) so the captures agree.
  zpool scrub tank
  wait_part_way tank
  hold_scans 1
  local st="2-way mirror on slowed-down disks (dm-delay), scrub part-way"
  snap scrub-part-way "$st"
  xlist scrub-part-way "$st"
  zpool scrub -p tank
  wait_status 'scrub paused' tank 10
  snap scrub-paused-part-way "2-way mirror on slowed-down disks, scrub paused part-way with 'zpool scrub -p'"
  zpool scrub -s tank
  wait_status 'scrub canceled' tank 10
  hold_scans 0
  zpool replace -f tank lnslow1 /dev/mapper/lnslow3
  wait_part_way tank
  hold_scans 1
  st="2-way mirror on slowed-down disks, 'zpool replace' resilvering part-way (replacing-0)"
  snap resilver-part-way "$st"
  xlist resilver-part-way "$st"
  zpool destroy -f tank
  dmsetup remove --retry lnslow1 lnslow2 lnslow3
}

s_resilver() {
  zpool create tank mirror "${D[0]}" "${D[1]}"
  fill tank 200
  hold_scans 1
  zpool replace tank "${D[0]}" "${D[2]}"
  wait_status 'resilver in progress' tank 10
  snap resilver-replacing "2-way mirror, 'zpool replace' of one side in progress (replacing-0; held with zfs_scan_suspend_progress=1)"
  xlist resilver-replacing "2-way mirror, replace/resilver in progress"
  hold_scans 0
  zpool wait -t resilver,replace tank
  snap resilver-finished "2-way mirror after the replace finished (resilvered)"

  # A device whose label is gone: export, clear one side's label, import -> UNAVAIL, "was /dev/...".
  zpool export tank
  zpool labelclear -f "$(part "${D[1]}")"
  cap import-list-missing-label.txt "exported 2-way mirror, one side's ZFS label cleared; 'zpool import' listing" zpool import -d /dev/disk/by-id
  zpool import -d /dev/disk/by-id tank
  local st="2-way mirror DEGRADED after import: one side UNAVAIL because its label was cleared (zpool labelclear)"
  snap unavail-label-missing "$st"
  xlist unavail-label-missing "$st"
  cap unavail-label-missing-upper-P.txt "$st" zpool status -P
  [ "$json" = no ] || cap unavail-label-missing-e.txt "$st" zpool status -e
  hold_scans 1
  zpool replace -f tank "${D[1]}"
  wait_status 'resilver in progress' tank 10
  snap replace-in-place "2-way mirror, 'zpool replace' of the UNAVAIL side by itself in progress (held)"
  hold_scans 0
  zpool wait -t resilver,replace tank
}

s_layouts() {
  local st
  zpool create tank mirror "${D[0]}" "${D[1]}" "${D[2]}"
  fill tank 16
  snap mirror3-healthy "3-way mirror, ONLINE"
  xlist mirror3-healthy "3-way mirror, ONLINE"
  zpool destroy tank
  reset_disks

  zpool create tank raidz1 "${D[0]}" "${D[1]}" "${D[2]}"
  fill tank 16
  snap raidz1-healthy "raidz1 of 3 disks, ONLINE"
  xlist raidz1-healthy "raidz1 of 3 disks, ONLINE"
  zpool offline tank "${D[2]}"
  snap raidz1-degraded-offline "raidz1 of 3 disks DEGRADED: one disk offline"
  zpool destroy tank
  reset_disks

  zpool create tank raidz2 "${D[0]}" "${D[1]}" "${D[2]}" "${D[3]}" "${D[4]}" "${D[5]}"
  fill tank 16
  snap raidz2-healthy "raidz2 of 6 disks, ONLINE"
  xlist raidz2-healthy "raidz2 of 6 disks, ONLINE"
  zpool offline tank "${D[4]}"
  zpool offline tank "${D[5]}"
  snap raidz2-degraded-two-offline "raidz2 of 6 disks DEGRADED: two disks offline (no redundancy left)"
  zpool destroy tank
  reset_disks

  zpool create tank raidz3 "${D[@]:0:5}"
  snap raidz3-healthy "raidz3 of 5 disks, ONLINE"
  zpool destroy tank
  reset_disks

  zpool create tank draid1:2d:1s "${D[@]:0:5}"
  snap draid-healthy "dRAID (draid1:2d:1s) of 5 disks with a distributed spare, ONLINE"
  zpool destroy tank
  reset_disks

  zpool create tank mirror "${D[0]}" "${D[1]}" mirror "${D[2]}" "${D[3]}"
  snap mirror-stripe-healthy "stripe of two 2-way mirrors (RAID10), ONLINE"
  zpool destroy tank
  reset_disks

  zpool create tank "${D[0]}"
  snap single-disk-healthy "single-disk pool (no redundancy), ONLINE"
  zpool destroy tank
  reset_disks

  zpool create -d tank mirror "${D[0]}" "${D[1]}"
  st="2-way mirror created with 'zpool create -d' (no features enabled): upgrade message"
  snap features-disabled "$st"
  cap features-disabled-get-Hp-all.tsv "$st" zpool get -Hp all tank
}

s_classes_and_spares() {
  zpool create -f tank mirror "${D[0]}" "${D[1]}" special mirror "${D[2]}" "${D[3]}" \
    log "${D[4]}" cache "${D[5]}" spare "${D[6]}" "${D[7]}"
  fill tank 64
  local st="2-way mirror with special mirror, log, cache and two hot spares (AVAIL), ONLINE"
  snap classes-healthy "$st"
  xlist classes-healthy "$st"
  cap classes-healthy-v.txt "$st" zpool status -v
  cap classes-healthy-upper-L.txt "$st" zpool status -L
  cap classes-healthy-get-Hp-all.tsv "$st" zpool get -Hp all tank
  [ "$json" = no ] || cap classes-healthy-j-flat.json "$st" zpool status -j --json-flat-vdevs

  hold_scans 1
  zpool replace tank "${D[0]}" "${D[6]}"
  wait_status 'resilver in progress' tank 10
  snap spare-resilvering "hot spare replacing a data disk, resilver in progress (spare-0, spare INUSE; held)"
  xlist spare-resilvering "hot spare replacing a data disk, resilver in progress"
  hold_scans 0
  zpool wait -t resilver tank
  snap spare-inuse "hot spare in use after its resilver (spare-0, spare INUSE, original still attached)"
  xlist spare-inuse "hot spare in use"
  zpool offline tank "${D[0]}"
  snap spare-inuse-original-offline "hot spare in use, the original disk offline (DEGRADED spare-0)"
  zpool detach tank "${D[0]}"
  snap spare-promoted "after 'zpool detach' of the original: the spare is a permanent mirror member, one spare left"
}

s_two_pools() {
  zpool create tank mirror "${D[0]}" "${D[1]}"
  zpool create data raidz1 "${D[2]}" "${D[3]}" "${D[4]}"
  snap two-pools "two pools: 2-way mirror 'tank' and raidz1 'data', both ONLINE"
  xlist two-pools "two pools, both ONLINE"
  cap two-pools-get-Hp-health.tsv "two pools, both ONLINE" zpool get -Hp health,size,allocated,free,capacity,fragmentation
  zpool offline data "${D[4]}"
  snap two-pools-one-degraded "two pools: 'tank' ONLINE, 'data' DEGRADED (one disk offline)"
  xlist two-pools-one-degraded "two pools: 'tank' ONLINE, 'data' DEGRADED"
  cap two-pools-one-degraded-tank.txt "two pools; only the healthy one asked for" zpool status tank
  cap two-pools-one-degraded-x-tank.txt "two pools; -x for the healthy one" zpool status -x tank
  zpool export data
  cap import-list-exported.txt "raidz1 'data' exported (one disk was offline); 'zpool import' listing" zpool import -d /dev/disk/by-id
  zpool import -d /dev/disk/by-id data
}

corrupt_file_blocks() { # pool file count devices...: overwrite the first COUNT data blocks of FILE
  # on each listed vdev partition (found with zdb; a DVA offset counts from the end of the 4 MiB
  # of labels and boot area at the start of the vdev), with the pool exported meanwhile.
  local pool=$1 file=$2 count=$3 obj b off size dev
  shift 3
  obj=$(stat -c %i "$file")
  zpool sync "$pool"
  mapfile -t blocks < <(zdb -ddddd "$pool/" "$obj" | grep -oE 'L0 +[0-9]+:[0-9a-f]+:[0-9a-f]+' \
    | awk '{ split($2, d, ":"); print d[2], d[3] }' | head -n "$count")
  [ "${#blocks[@]}" -gt 0 ] || { log "  zdb listed no data blocks for $file"; return 1; }
  zpool export "$pool"
  for b in "${blocks[@]}"; do
    read -r off size <<<"$b"
    for dev in "$@"; do
      dd if=/dev/urandom of="$dev" bs=512 seek=$(( (0x400000 + 0x$off) / 512 )) count=$(( 0x$size / 512 )) \
        conv=notrunc,fsync status=none
    done
  done
  zpool import -d /dev/disk/by-id "$pool"
}

s_permanent_errors() {
  local st
  # Non-redundant pool: overwrite some of a file's blocks, then read the file.
  zpool create -O compression=off single "${D[0]}"
  fill single 32
  corrupt_file_blocks single /single/data 8 "$(part "${D[0]}")"
  sha256sum /single/data >/dev/null 2>&1 || true   # read it (EIO expected)
  wait_status 'data errors|Permanent errors' single 20   # 2.3 reports the error a moment after the EIO
  st="single-disk pool, a file read after 8 of its blocks were overwritten: permanent data errors (ZFS-8000-8A)"
  snap permanent-errors "$st"
  xlist permanent-errors "$st"
  cap permanent-errors-v.txt "$st" zpool status -v
  [ "$json" = no ] || cap permanent-errors-j-v.json "$st" zpool status -j -v
  zpool scrub -w single || true
  st="single-disk pool with permanent data errors, after a scrub"
  snap permanent-errors-scrubbed "$st"
  cap permanent-errors-scrubbed-v.txt "$st" zpool status -v
  zpool destroy -f single
  reset_disks

  # Mirror with the same blocks of a file overwritten on both sides.
  zpool create -O compression=off tank mirror "${D[0]}" "${D[1]}"
  fill tank 32
  corrupt_file_blocks tank /tank/data 8 "$(part "${D[0]}")" "$(part "${D[1]}")"
  zpool scrub -w tank || true
  st="2-way mirror with the same 8 blocks of a file overwritten on both sides, after a scrub: permanent errors"
  snap mirror-both-corrupt "$st"
  xlist mirror-both-corrupt "$st"
  cap mirror-both-corrupt-v.txt "$st" zpool status -v
}

s_trim_unsupported() {
  # dm-crypt does not pass discards on unless told to: a device without TRIM next to one with it.
  local sectors st
  sectors=$(blockdev --getsz "${D[1]}")
  dmsetup create lncrypt1 --table "0 $sectors crypt aes-xts-plain64 $(printf '%064d' 0) 0 ${D[1]} 0"
  udevadm settle
  zpool create -f tank mirror "${D[0]}" /dev/mapper/lncrypt1
  st="2-way mirror, one side a dm-crypt device without discard support, trim never run"
  cap trim-unsupported-t.txt "$st" zpool status -t
  zpool trim tank || true
  zpool wait -t trim tank || true
  st="2-way mirror, one side without discard support, after 'zpool trim'"
  cap trim-unsupported-after-trim-t.txt "$st" zpool status -t
  [ "$json" = no ] || cap trim-unsupported-after-trim-j.json "$st" zpool status -j
  zpool destroy tank
  dmsetup remove --retry lncrypt1
}

s_io_errors() {
  # A device that starts failing every I/O (device-mapper 'error' target swapped in under it),
  # with ZED running as on a real system, so the diagnosis engine can fault it.
  local sectors
  sectors=$(blockdev --getsz "${D[1]}")
  dmsetup create lnflaky1 --table "0 $sectors linear ${D[1]} 0"
  udevadm settle
  zed -F -p "$tmp/zed.pid" -s "$tmp/zed.state" >/dev/null 2>&1 &
  zed_pid=$!
  zpool create -f tank mirror "${D[0]}" /dev/mapper/lnflaky1
  fill tank 64
  dmsetup suspend lnflaky1
  dmsetup load lnflaky1 --table "0 $sectors error"
  dmsetup resume lnflaky1
  dd if=/dev/urandom of=/tank/more bs=1M count=8 status=none
  zpool sync tank || true
  zpool scrub -w tank || true
  sleep 5
  local st
  st="2-way mirror, one side (a device-mapper device) switched to failing every I/O, then writes and a scrub, ZED running"
  snap io-errors "$st"
  xlist io-errors "$st"
  cap io-errors-v.txt "$st" zpool status -v
  kill "$zed_pid" 2>/dev/null || true
  wait "$zed_pid" 2>/dev/null || true
  zed_pid=""
}

s_removed() {
  # The disk disappears: unbind its virtio device from the driver (like pulling it out).
  local dev vdev st
  zed -F -p "$tmp/zed.pid" -s "$tmp/zed.state" >/dev/null 2>&1 &
  zed_pid=$!
  zpool create tank mirror "${D[0]}" "${D[1]}"
  fill tank 32
  dev=$(basename "$(readlink -f "${D[1]}")")
  vdev=$(basename "$(readlink -f "/sys/block/$dev/device")")
  echo "$vdev" >/sys/bus/virtio/drivers/virtio_blk/unbind
  udevadm settle
  dd if=/dev/urandom of=/tank/more bs=1M count=8 status=none
  zpool sync tank || true
  zpool scrub -w tank || true
  sleep 3
  st="2-way mirror after one disk vanished (virtio device unbound from its driver, like pulling it), ZED running"
  snap disk-removed "$st"
  xlist disk-removed "$st"
  echo "$vdev" >/sys/bus/virtio/drivers/virtio_blk/bind
  udevadm settle
  sleep 3
  zpool online tank "${D[1]}" || true
  zpool wait -t resilver tank || true
  snap disk-returned "2-way mirror after the vanished disk came back and 'zpool online' (resilver done)"
  kill "$zed_pid" 2>/dev/null || true
  wait "$zed_pid" 2>/dev/null || true
  zed_pid=""
}

start=$SECONDS
log "OpenZFS $version ($(head -n 1 <<<"$zfs_version_text")); writing to ${out#"$project"/}"
reset_disks
scenario "no pools" s_no_pools
scenario "healthy mirror, trim, initialize" s_mirror
scenario "scrub states, cksum errors, offline" s_scrubs
scenario "scans part-way (dm-delay)" s_scans_part_way
scenario "resilver, missing label" s_resilver
scenario "layouts" s_layouts
scenario "vdev classes and spares" s_classes_and_spares
scenario "two pools" s_two_pools
scenario "permanent errors" s_permanent_errors
scenario "trim unsupported (dm-crypt)" s_trim_unsupported
scenario "I/O errors (device-mapper error target)" s_io_errors
scenario "disk removed (virtio unbind)" s_removed

# --- sources.json ---------------------------------------------------------------------------------
node - "$out" "$tmp/records" "$source_text" "$zfs_version_text" <<'EOF'
const fs = require('fs'), path = require('path');
const [dir, records, source, version] = process.argv.slice(2);
const file = path.join(dir, 'sources.json');
const sources = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
for (const line of fs.readFileSync(records, 'utf8').split('\n')) {
  if (!line) continue;
  const [name, command, state, exit, stream, stderrFile] = line.split('\t');
  const entry = {source, version, command, state};
  if (exit !== '0') entry.exit_status = Number(exit);
  if (stream !== 'stdout') entry.stream = stream;
  const stderr = fs.existsSync(stderrFile) ? fs.readFileSync(stderrFile, 'utf8') : '';
  if (stderr) entry.stderr = stderr;
  sources[name] = entry;
}
const sorted = Object.fromEntries(Object.keys(sources).sort().map((k) => [k, sources[k]]));
fs.writeFileSync(file, JSON.stringify(sorted, null, 2) + '\n');
EOF
log "wrote $(( $(cat "$tmp/n") - 100 )) captures to ${out#"$project"/} in $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  log "scenarios that failed part-way (their captures up to the failure are kept): ${failed[*]}"
  exit 1
fi
