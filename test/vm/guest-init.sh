#!/bin/bash
# Init of lnstore's test VM. test/vm/run.sh copies it into the per-run share, and the image's
# /sbin/lnstore-init (PID 1) executes it from /lnstore-run. It prepares the system, runs the
# command from /lnstore-run/command.sh in /project, reports the exit status and powers off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
share=/lnstore-run

say() { echo "lnstore-vm: $*"; }
finish() { # exit code
  echo "$1" >"$share/exit-code.tmp" && mv "$share/exit-code.tmp" "$share/exit-code"
  echo "LNSTORE-VM-EXIT=$1"
  sync
  # Under systemd, exit 75 (a journey's "boot me again") is an orderly shutdown: services stop
  # as on an operator's reboot. Anything else ends the run at once.
  if [ "${LNSTORE_VM_UNDER_SYSTEMD:-}" = 1 ] && [ "$1" = 75 ]; then
    systemctl poweroff --no-block && sleep 300
  fi
  echo o >/proc/sysrq-trigger
  sleep 30
}
fail() { say "setup failed: $*"; finish 125; }

# --systemd: this script runs twice. As PID 1 it writes the units that make the system an
# operator's machine (/project and /shared mounted by fstab, the command as a service after
# multi-user.target) and hands PID 1 to systemd; that service then runs it again with
# LNSTORE_VM_UNDER_SYSTEMD=1, which skips what systemd already did (mounts, udev, zfs module).
mountpoint -q /proc || mount -t proc proc /proc
if [ "${LNSTORE_VM_UNDER_SYSTEMD:-}" != 1 ] && grep -q '^declare -x LNSTORE_VM_SYSTEMD=1$' "$share/env" 2>/dev/null; then
  mount -o remount,rw / 2>/dev/null
  mountpoint -q /sys || mount -t sysfs sysfs /sys
  {
    echo "# written by lnstore's guest-init.sh at every boot"
    echo "project /project 9p trans=virtio,version=9p2000.L,msize=262144,cache=loose 0 0"
    if grep -qw shared /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag 2>/dev/null; then
      echo "shared /shared 9p trans=virtio,version=9p2000.L,msize=262144,ro,nofail 0 0"
    fi
  } >/etc/fstab
  mkdir -p /project /shared
  cat >/etc/systemd/system/lnstore-vm-command.service <<UNIT
[Unit]
Description=lnstore VM: the run's command (test/vm/run.sh --systemd)
After=multi-user.target
RequiresMountsFor=/project

[Service]
Type=oneshot
Environment=LNSTORE_VM_UNDER_SYSTEMD=1
ExecStart=/bin/bash $share/guest-init.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
UNIT
  mkdir -p /etc/systemd/system/multi-user.target.wants
  ln -sf /etc/systemd/system/lnstore-vm-command.service /etc/systemd/system/multi-user.target.wants/
  # The console is the run's log: no login prompt on it.
  ln -sf /dev/null /etc/systemd/system/serial-getty@ttyS0.service
  ln -sf /dev/null /etc/systemd/system/getty@tty1.service
  echo lnstore-vm >/etc/hostname
  umount /sys 2>/dev/null
  exec /lib/systemd/systemd --log-target=kmsg --show-status=false
fi
if [ "${LNSTORE_VM_UNDER_SYSTEMD:-}" = 1 ]; then
  udevadm settle --timeout=60 || say "udevadm settle timed out; going on"
  modprobe zfs || fail "modprobe zfs"
  ip link set lo up
else
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/lock
hostname lnstore-vm

/lib/systemd/systemd-udevd --daemon || fail "systemd-udevd did not start"
# Only what tests need: block devices (by-id links, partitions of whole-disk vdevs) and misc
# (/dev/zfs, device-mapper control). Triggering everything costs ~15 s more under TCG.
udevadm trigger --type=subsystems --action=add --subsystem-match=block --subsystem-match=misc
udevadm trigger --type=devices --action=add --subsystem-match=block --subsystem-match=misc
udevadm settle --timeout=60 || say "udevadm settle timed out; going on"
say "udev settled after $(cut -d' ' -f1 /proc/uptime) s of uptime"
modprobe zfs || fail "modprobe zfs (is zfs.ko in the image? rebuild it with LNSTORE_VM_REBUILD=1)"
ip link set lo up || fail "ip link set lo up"

mkdir -p /project
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose project /project \
  || fail "cannot mount the project share (9p tag 'project')"
if grep -qw shared /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag 2>/dev/null; then
  mkdir -p /shared
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro shared /shared \
    || fail "cannot mount the shared folder (9p tag 'shared', ../shared on the host)"
fi
fi # not under systemd
mountpoint -q /project || fail "/project is not mounted (9p tag 'project')"

# shellcheck source=/dev/null
. "$share/env" || fail "cannot read $share/env"
disks=()
for i in ${LNSTORE_VM_DISK_LIST-$(seq 1 "${LNSTORE_VM_DISK_COUNT:-0}")}; do
  d=/dev/disk/by-id/virtio-lnstore-disk$i
  for _ in $(seq 1 50); do [ -e "$d" ] && break; sleep 0.2; done
  [ -e "$d" ] || fail "test disk $d did not appear (udev by-id link missing)"
  disks+=("$d")
done
export LNSTORE_TEST_ZFS=kernel
export LNSTORE_TEST_DISKS="${disks[*]}"

# NFS server and client on loopback (run.sh --nfs), for the ChironFS mode's NFS replica tests.
# A soft mount with short timeouts: when the server stops, calls on the mount fail with EIO after
# some seconds instead of hanging forever (a hard mount would block a health probe for good).
if [ "${LNSTORE_VM_NFS:-}" = 1 ]; then
  nfs_export=/export nfs_mount=/mnt/nfs
  nfs_options=vers=3,soft,timeo=20,retrans=2,nolock
  mkdir -p "$nfs_export/lnstore" "$nfs_mount" /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery
  chmod 1777 "$nfs_export/lnstore"
  modprobe nfsd && modprobe nfs || fail "modprobe nfsd nfs"
  mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd || fail "mount -t nfsd nfsd /proc/fs/nfsd"
  echo "$nfs_export 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)" >/etc/exports
  rpcbind -w || fail "rpcbind -w"
  exportfs -ra || fail "exportfs -ra"
  rpc.mountd || fail "rpc.mountd"
  rpc.nfsd 4 || fail "rpc.nfsd 4"
  mount -t nfs -o "$nfs_options" "127.0.0.1:$nfs_export" "$nfs_mount" || fail "mount -t nfs -o $nfs_options 127.0.0.1:$nfs_export $nfs_mount"
  echo ok >"$nfs_mount/lnstore/.probe" && [ "$(cat "$nfs_export/lnstore/.probe")" = ok ] && rm -f "$nfs_mount/lnstore/.probe" \
    || fail "a file written through $nfs_mount did not land in $nfs_export"
  export LNSTORE_TEST_NFS_DIR=$nfs_mount/lnstore
  export LNSTORE_TEST_NFS_EXPORT_DIR=$nfs_export/lnstore
  export LNSTORE_TEST_NFS_STOP='rpc.nfsd 0'
  export LNSTORE_TEST_NFS_START='rpc.nfsd 4'
  say "NFS: 127.0.0.1:$nfs_export mounted at $nfs_mount ($nfs_options); LNSTORE_TEST_NFS_DIR=$LNSTORE_TEST_NFS_DIR"
fi

say "ready after $(cut -d' ' -f1 /proc/uptime) s of uptime; $(zfs version 2>/dev/null | head -n 1), kernel $(uname -r), node $(node --version)"
say "LNSTORE_TEST_DISKS=$LNSTORE_TEST_DISKS"
cd /project || fail "cd /project"
bash "$share/command.sh" </dev/null
rc=$?
say "command exited with status $rc after $(cut -d' ' -f1 /proc/uptime) s of uptime"
cd /
finish "$rc"
