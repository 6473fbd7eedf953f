#!/usr/bin/env bash
# Run a command inside lnstore's test VM (Debian 12 + OpenZFS kernel module, QEMU/TCG).
#
#   test/vm/run.sh openzfs-2.1|openzfs-2.3 [--disks N] [--disk-size SIZE] [--timeout SECONDS] [--nfs]
#                  [--systemd] [--state DIR] -- command...
#
# Builds or reuses the image (test/vm/build-image.sh), creates N blank sparse raw disks, shares the
# project directory read-write into the VM at /project (9p), boots, and runs the command as root
# in /project with LNSTORE_TEST_ZFS=kernel and LNSTORE_TEST_DISKS="<by-id paths of the disks>".
# --nfs: an NFS server and a soft client mount on loopback, named in LNSTORE_TEST_NFS_* (README).
# --systemd: systemd is init; the command runs as a service once the system is up (README).
# --state DIR: the disks and a copy-on-write overlay of the root disk live in DIR and are reused by
#   the next run with the same DIR (a reboot, or a power cut when the guest asks for one).
# The VM console streams to stdout. Exit status: the command's; 124 on timeout; 125 when the VM
# could not run the command (boot/setup failure, no status reported).
# Host environment variables named LNSTORE_* (except LNSTORE_VM_*) are passed into the VM.
# LNSTORE_VM_SLOTS=DIR (and LNSTORE_VM_SLOT_COUNT, default 2): wait for one of that many shared
# machine slots before booting (below).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
prog=run.sh

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 125; }
usage() {
 sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
variant=$1; shift
case "$variant" in
  openzfs-2.1|openzfs-2.3) ;;
  -h|--help) usage ;;
  *) printf '%s: error: unknown variant %q (use openzfs-2.1 or openzfs-2.3)\n' "$prog" "$variant" >&2; usage ;;
esac
disks=4 disk_size=512M timeout=1200 nfs=0 systemd=0 state=""
while [ $# -gt 0 ]; do
  case "$1" in
    --disks) disks=${2:?--disks needs a number}; shift 2 ;;
    --disk-size) disk_size=${2:?--disk-size needs a size like 512M}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    --nfs) nfs=1; shift ;;
    --systemd) systemd=1; shift ;;
    --state) state=${2:?--state needs a folder}; shift 2 ;;
    --) shift; break ;;
    *) printf '%s: error: unexpected argument %q (the command goes after --)\n' "$prog" "$1" >&2; usage ;;
  esac
done
[ $# -gt 0 ] || { printf '%s: error: no command given after --\n' "$prog" >&2; usage; }
[[ $disks =~ ^[0-9]+$ ]] && [ "$disks" -le 20 ] || die "--disks must be a number from 0 to 20, got '$disks'"
[[ $timeout =~ ^[0-9]+$ ]] && [ "$timeout" -gt 0 ] || die "--timeout must be a positive number of seconds, got '$timeout'"

qemu=$(command -v qemu-system-x86_64) \
  || die "qemu-system-x86_64 not found. Install it: apt-get install -y qemu-system-x86 qemu-utils"

# LNSTORE_VM_IMAGE=DIR boots that image folder instead (e.g. one built by an earlier recipe).
if [ -n "${LNSTORE_VM_IMAGE:-}" ]; then
  image=$LNSTORE_VM_IMAGE
else
  image=$("$here/build-image.sh" "$variant" | tail -n 1) \
    || die "could not build or find the $variant image (see the messages above)"
fi
for f in root.img vmlinuz initrd.img; do
  [ -f "$image/$f" ] || die "$image/$f is missing; rebuild with LNSTORE_VM_REBUILD=1 test/vm/build-image.sh $variant"
done

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/lnstore-vm-run.XXXXXX")
qemu_pid="" tail_pid=""
cleanup() {
  local rc=$?
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$qemu_pid" 2>/dev/null || true
  fi
  [ -z "$tail_pid" ] || kill "$tail_pid" 2>/dev/null || true
  if [ -n "${LNSTORE_VM_KEEP:-}" ]; then
    printf '%s: kept %s (disks, console.log)\n' "$prog" "$run_dir" >&2
  else
    rm -rf "$run_dir"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# What the guest runs: the command, its environment, and the init that sets the VM up.
cp "$here/guest-init.sh" "$run_dir/guest-init.sh"
boot=1
if [ -n "$state" ]; then
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  [ ! -f "$state/boots" ] || boot=$(( $(cat "$state/boots") + 1 ))
  echo "$boot" >"$state/boots"
fi
{ printf 'exec'; printf ' %q' "$@"; printf '\n'; } >"$run_dir/command.sh"
{
  printf 'declare -x LNSTORE_VM_DISK_COUNT=%q\n' "$disks"
  printf 'declare -x LNSTORE_VM_VARIANT=%q\n' "$variant"
  printf 'declare -x LNSTORE_VM_NFS=%q\n' "$nfs"
  printf 'declare -x LNSTORE_VM_SYSTEMD=%q\n' "$systemd"
  printf 'declare -x LNSTORE_VM_BOOT=%q\n' "$boot"
  while IFS= read -r name; do
    case "$name" in LNSTORE_VM_*|LNSTORE_TEST_ZFS|LNSTORE_TEST_DISKS) continue ;; esac
    printf 'declare -x %s=%q\n' "$name" "${!name}"
  done < <(compgen -e | grep '^LNSTORE_' || true)
} >"$run_dir/env"

# Every drive as an explicit -device, root first, so the PCI order (and vda, vdb, ...) is the
# command-line order; the guest finds them by serial (/dev/disk/by-id/virtio-<serial>) anyway.
# Without --state the root disk is a throw-away snapshot; with it, a qcow2 overlay kept in DIR
# (the image itself is never written either way).
disk_dir=$run_dir
if [ -n "$state" ]; then
  disk_dir=$state
  if [ ! -f "$state/root.qcow2" ]; then
    qemu-img create -q -f qcow2 -b "$image/root.img" -F raw "$state/root.qcow2" \
      || die "qemu-img create of the root overlay in $state failed (install qemu-utils)"
  fi
  drives=(-drive "file=$state/root.qcow2,if=none,id=root,format=qcow2,cache=unsafe")
else
  drives=(-drive "file=$image/root.img,if=none,id=root,format=raw,snapshot=on")
fi
drives+=(-device "virtio-blk-pci,drive=root,serial=lnstore-root")
present_disks=()
for i in $(seq 1 "$disks"); do
  [ -f "$disk_dir/disk$i.img" ] || truncate -s "$disk_size" "$disk_dir/disk$i.img"
  [ -f "$disk_dir/disk$i.absent" ] && continue # a journey's disk kept out of this boot
  present_disks+=("$i")
  drives+=(-drive "file=$disk_dir/disk$i.img,if=none,id=disk$i,format=raw,cache=unsafe"
           -device "virtio-blk-pci,drive=disk$i,id=lnstore-disk$i,serial=lnstore-disk$i")
done
printf 'declare -x LNSTORE_VM_DISK_LIST=%q\n' "${present_disks[*]}" >>"$run_dir/env"
if [ "$(id -u)" -eq 0 ]; then security=passthrough; else security=none; fi
# ../shared beside the checkout (prebuilt Core Lightning and ChironFS), read-only at /shared in
# the VM, so that /project/../shared is the same folder as on the host.
shares=()
if [ -d "$project/../shared" ]; then
  shares=(-virtfs "local,path=$(cd "$project/../shared" && pwd),mount_tag=shared,security_model=$security,id=shared,readonly=on")
fi

# LNSTORE_VM_SLOTS=DIR: at most LNSTORE_VM_SLOT_COUNT (default 2) machines at once among the run.sh
# sharing DIR, each holding a lock on DIR/slot.N while its QEMU runs (npm run test:vm starts the
# journeys beside the suites: each boots when a machine before it ends, so no slot stands idle).
take_slot() {
  local n
  for ((n = 1; n <= ${LNSTORE_VM_SLOT_COUNT:-2}; n++)); do
    exec {slot_fd}>"$LNSTORE_VM_SLOTS/slot.$n"
    flock -n "$slot_fd" && return 0
    exec {slot_fd}>&-
  done
  return 1
}
if [ -n "${LNSTORE_VM_SLOTS:-}" ]; then
  waiting_since=$SECONDS
  until take_slot; do sleep 1; done
  [ "$SECONDS" -eq "$waiting_since" ] || printf '%s: waited %s s for a VM slot\n' "$prog" $((SECONDS - waiting_since)) >&2
fi

printf '%s: booting %s (%s) with %s blank disk(s) of %s, timeout %s s; QEMU monitor: %s\n' \
  "$prog" "$variant" "$(grep '^zfs=' "$image/image.txt" | cut -d= -f2)" "$disks" "$disk_size" \
  "$timeout" "$run_dir/monitor.sock" >&2
: >"$run_dir/console.log"
start=$SECONDS
"$qemu" -accel tcg -smp 2 -m 2048 -nographic -no-reboot \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "root=/dev/disk/by-id/virtio-lnstore-root rw console=ttyS0 init=/sbin/lnstore-init panic=-1 quiet loglevel=3" \
  "${drives[@]}" \
  -virtfs "local,path=$project,mount_tag=project,security_model=$security,id=project" \
  -virtfs "local,path=$run_dir,mount_tag=lnstore-run,security_model=$security,id=lnstore-run" \
  "${shares[@]}" \
  -monitor "unix:$run_dir/monitor.sock,server=on,wait=off" \
  -nic none \
  </dev/null >"$run_dir/console.log" 2>&1 &
qemu_pid=$!
tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$run_dir/console.log" &
tail_pid=$!

# Requests from the guest through the run share: "power-cut" (QEMU is killed at once, like a
# power failure: the run exits 75 and the next run with the same --state boots the same disks),
# and "monitor" (one QEMU monitor command, e.g. device_del lnstore-disk2: a hot-unplug; the
# guest waits for the file to disappear, and reads the answer from monitor.out).
timed_out="" power_cut=""
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ $((SECONDS - start)) -ge "$timeout" ]; then
    timed_out=yes
    kill "$qemu_pid" 2>/dev/null || true
    break
  fi
  if [ -f "$run_dir/power-cut" ]; then
    power_cut=yes
    kill -9 "$qemu_pid" 2>/dev/null || true
    break
  fi
  if [ -f "$run_dir/monitor" ]; then
    # {disks} in the command is the host folder of the disks (drive_add needs the image's path).
    node "$here/monitor.mjs" "$run_dir/monitor.sock" "$(sed "s|{disks}|$disk_dir|g" "$run_dir/monitor" | head -n 1)" >"$run_dir/monitor.out.tmp" 2>&1 || true
    mv "$run_dir/monitor.out.tmp" "$run_dir/monitor.out"
    printf '%s: QEMU monitor: %s\n' "$prog" "$(tr '\n' ' ' <"$run_dir/monitor")" >&2
    rm -f "$run_dir/monitor"
  fi
  sleep 0.5
done
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
wait "$tail_pid" 2>/dev/null || true
tail_pid=""

elapsed=$((SECONDS - start))
# A journey can take disks out of the next boot of its machine (the pool missing at boot) and put
# them back: /lnstore-run/absent-next and present-next hold disk numbers.
if [ -n "$state" ]; then
  for i in $(cat "$run_dir/absent-next" 2>/dev/null); do touch "$state/disk$i.absent"; done
  for i in $(cat "$run_dir/present-next" 2>/dev/null); do rm -f "$state/disk$i.absent"; done
fi
if [ -n "$power_cut" ]; then
  printf '\n%s: POWER CUT: QEMU killed after %s s, as the guest asked; boot again with the same --state\n' "$prog" "$elapsed" >&2
  exit 75
fi
if [ -n "$timed_out" ]; then
  printf '\n%s: error: TIMEOUT: the VM ran longer than %s s and was killed. Raise --timeout, or look above for where it hung.\n' "$prog" "$timeout" >&2
  exit 124
fi
if [ -f "$run_dir/exit-code" ]; then
  rc=$(cat "$run_dir/exit-code")
elif rc=$(tr -d '\r' <"$run_dir/console.log" | sed -n 's/^LNSTORE-VM-EXIT=\([0-9]*\)$/\1/p' | tail -n 1) && [ -n "$rc" ]; then
  :
else
  printf '\n%s: error: the VM stopped after %s s without reporting an exit status (QEMU exit %s).\n' "$prog" "$elapsed" "$qemu_rc" >&2
  printf '%s: a kernel panic, a failed init or a QEMU error is shown above. If QEMU itself failed, check that qemu-system-x86_64 runs (software emulation, no /dev/kvm needed).\n' "$prog" >&2
  exit 125
fi
printf '%s: VM finished in %s s; command exit status %s\n' "$prog" "$elapsed" "$rc" >&2
exit "$rc"
