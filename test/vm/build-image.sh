#!/usr/bin/env bash
# Build (or reuse) the Debian 12 VM image that lnstore's VM test tier boots.
#
#   test/vm/build-image.sh openzfs-2.1|openzfs-2.3
#
# Prints progress on stderr and, on success, the image directory on stdout (it holds root.img,
# vmlinuz, initrd.img and image.txt). The image is cached under
#   ${LNSTORE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lnstore-vm}/<variant>-<key>/
# where <key> hashes the recipe: this script, the files under test/vm/image/, the variant and the
# host's node version. An unchanged recipe reuses the cached image at once; a changed one rebuilds.
# The Debian base both variants share (debootstrap + kernel + headers + common packages) is cached
# as base-<key>.tar.zst beside them, so the second variant only installs ZFS and runs DKMS.
# Builds go to a temporary directory that is renamed into place only when complete.
# Needs root (debootstrap, chroot, mounts) and the packages debootstrap, zstd and e2fsprogs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prog=build-image.sh

log() { printf '%s %s: %s\n' "$(date +%H:%M:%S)" "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: test/vm/build-image.sh openzfs-2.1|openzfs-2.3
  openzfs-2.1  OpenZFS 2.1.11 from Debian 12 (bookworm) contrib
  openzfs-2.3  OpenZFS 2.3.2 from bookworm-backports contrib
environment: LNSTORE_VM_CACHE (cache folder), LNSTORE_VM_REBUILD=1 (ignore the cached image)
EOF
  exit 2
}

[ $# -eq 1 ] || usage
variant=$1
case "$variant" in
  openzfs-2.1) zfs_suite=bookworm; zfs_expect=2.1. ;;
  openzfs-2.3) zfs_suite=bookworm-backports; zfs_expect=2.3. ;;
  -h|--help) usage ;;
  *) printf '%s: error: unknown variant %q\n' "$prog" "$variant" >&2; usage ;;
esac

cache=${LNSTORE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lnstore-vm}

# --- cache keys --------------------------------------------------------------------------------
command -v node >/dev/null || die "node is not on PATH: the image gets a copy of the host's node binary. Install Node.js 20 first."
node_bin=$(readlink -f "$(command -v node)")
node_version=$(node --version)

recipe_hash() { # files... -> sha256 of their names and contents, plus the extra lines on stdin
  { cat; for f in "$@"; do printf '== %s\n' "${f#"$here"/}"; cat "$f"; done; } | sha256sum | cut -c1-16
}
mapfile -t image_files < <(find "$here/image" -type f | LC_ALL=C sort)
# The base's key covers only the part of this script that makes it (apt sources, chroot helpers
# and the base section), so a change to the variant part or the image's files keeps the base.
base_key=$({ printf 'base\n'; sed -n '/^# --- apt sources/,/^# --- variant:/p' "$here/build-image.sh"; } | recipe_hash)
image_key=$(printf 'variant=%s\nnode=%s\n' "$variant" "$node_version" \
  | recipe_hash "$here/build-image.sh" "${image_files[@]}")
image_dir=$cache/$variant-$image_key
base_tar=$cache/base-$base_key.tar.zst

if [ -z "${LNSTORE_VM_REBUILD:-}" ] && [ -f "$image_dir/image.txt" ]; then
  log "reusing cached image $image_dir (recipe unchanged)"
  echo "$image_dir"
  exit 0
fi

# --- preconditions -----------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "building the $variant image needs root (debootstrap, chroot, mounts). Run as root, or populate $cache from a root build."
for tool in debootstrap zstd mkfs.ext4 chroot flock findmnt sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' not found. Install it: apt-get install -y debootstrap zstd e2fsprogs util-linux coreutils"
done

mkdir -p "$cache"
# One lock per variant, so both variants can build at once (their DKMS builds overlap: each has a
# long single-threaded configure); the shared base has its own lock below.
exec 9>"$cache/.lock-build-$variant"
if ! flock -n 9; then
  log "another build of $variant holds $cache/.lock-build-$variant; waiting for it"
  flock 9
fi
if [ -z "${LNSTORE_VM_REBUILD:-}" ] && [ -f "$image_dir/image.txt" ]; then
  log "reusing image $image_dir (built meanwhile by another process)"
  echo "$image_dir"
  exit 0
fi

# --- apt sources: take the host's own configuration --------------------------------------------
# Prints "URI SUITE" for every enabled deb source of the host whose suite is bookworm[-*].
host_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/#.*//' "$f" | awk '$1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        print $i, $(i+1) }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush() {
           if (types ~ /(^| )deb( |$)/ && enabled != "no")
             for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++) print uris[u], suites[s]
           types = ""; enabled = ""; nu = 0; ns = 0 }
         /^[ \t]*#/ { next }
         /^[ \t]*$/ { flush(); next }
         { key = tolower($1); sub(/:$/, "", key); $1 = "" }
         key == "types" { types = $0 }
         key == "enabled" { enabled = tolower($2) }
         key == "uris" { nu = split($0, uris, " ") }
         key == "suites" { ns = split($0, suites, " ") }
         END { flush() }' "$f"
  done
}
mapfile -t sources < <(host_sources | awk '$2 ~ /^bookworm(-updates|-security|-backports)?$/' | sort -u)
mirror=$(printf '%s\n' "${sources[@]}" | awk '$2 == "bookworm" { print $1; exit }')
[ -n "$mirror" ] || die "no 'deb ... bookworm' source in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources: the image is built from the host's configured Debian mirror. Configure one."

write_chroot_sources() { # root, with_backports
  local root=$1 with_backports=$2 line uri suite
  rm -f "$root/etc/apt/sources.list"
  {
    for line in "${sources[@]}"; do
      read -r uri suite <<<"$line"
      [ "$suite" = bookworm-backports ] && continue
      printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' "$uri" "$suite"
    done
    if [ "$with_backports" = yes ]; then
      printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror"
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
}

# --- chroot helpers ----------------------------------------------------------------------------
# LNSTORE_VM_APT_CACHE= (empty) turns the host apt cache off. Hard links need it on the same
# filesystem as the build folder; elsewhere it is not used.
host_apt_cache=${LNSTORE_VM_APT_CACHE-/var/cache/apt/archives}
if [ -n "$host_apt_cache" ] && { [ ! -d "$host_apt_cache" ] || [ "$(stat -c %d "$host_apt_cache")" != "$(stat -c %d "$cache")" ]; }; then
  host_apt_cache=""
fi
work=""
log_file=""
mounted_root=""

mount_chroot() {
  local root=$1
  mounted_root=$root
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  mkdir -p "$root/dev/pts"
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The host's apt cache: packages the host already downloaded are hard-linked into the chroot's
  # own cache (no download), and umount_chroot links what the build downloaded back for the next
  # build. Links, not a bind mount: apt's lock on a shared cache would make two builds (both
  # variants at once) or the host's own apt-get fail while a build installs.
  if [ -n "$host_apt_cache" ]; then
    find "$host_apt_cache" -maxdepth 1 -name '*.deb' -exec cp -l -n -t "$root/var/cache/apt/archives/" {} + 2>/dev/null || true
  fi
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
}

umount_chroot() {
  local root=$mounted_root m
  [ -n "$root" ] || return 0
  if [ -n "$host_apt_cache" ] && [ -w "$host_apt_cache" ]; then
    find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -l -n -t "$host_apt_cache/" {} + 2>/dev/null || true
  fi
  # Innermost first. Never fall through to deleting a tree that still has a mount in it.
  for m in $(findmnt -rn -o TARGET | grep -F "$root/" | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  rm -f "$root/usr/sbin/policy-rc.d"
  mounted_root=""
}

in_chroot() { # command...
  chroot "$work/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

cleanup() {
  local rc=$?
  umount_chroot
  if [ -n "$work" ] && [ -d "$work" ]; then
    if [ -n "$(findmnt -rn -o TARGET | grep -F "$work/" || true)" ]; then
      printf '%s: error: mounts remain under %s; not deleting it. Unmount them (findmnt | grep %s) and remove it by hand.\n' "$prog" "$work" "$work" >&2
    else
      if [ $rc -ne 0 ] && [ -f "$log_file" ]; then
        cp "$log_file" "$cache/$variant-$image_key.failed.log" 2>/dev/null || true
        printf '%s: build failed (exit %s). Last lines of the build log (whole log: %s):\n' \
          "$prog" "$rc" "$cache/$variant-$image_key.failed.log" >&2
        tail -n 40 "$log_file" >&2 || true
      fi
      rm -rf --one-file-system "$work"
    fi
  fi
  rm -f "$base_tar.tmp.$$"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { # name command...: run a step, its output going to the build log; fail with its name
  local name=$1 started=$SECONDS; shift
  log "$name"
  "$@" >>"$log_file" 2>&1 || die "step failed: $name (see the build log)"
  printf '  %5d s  %s\n' $((SECONDS - started)) "$name" >>"$work/steps.log"
}

work=$(mktemp -d "$cache/.build-$variant-$image_key.XXXXXX")
log_file=$work/build.log
: >"$log_file"
mkdir "$work/root"
t0=$SECONDS

# --- base: shared by both variants -------------------------------------------------------------
# The real lightningd's runtime libraries (../shared/prebuilt/README.md) and python3 for
# fake-bitcoin-cli are here too, so the journeys run the real node as a systemd service.
common_packages=(
  linux-image-amd64 linux-headers-amd64 systemd-sysv udev kmod dkms
  nfs-kernel-server nfs-common rpcbind iproute2 fuse3 sqlite3 util-linux e2fsprogs procps
  dmsetup gdisk zstd
  libsqlite3-0 libpq5 libsodium23 libgmp10 libssl3 zlib1g python3
)

build_base() {
  log "building the shared Debian base from $mirror (log: $log_file)"
  step "debootstrap bookworm (minbase)" \
    debootstrap --variant=minbase --include=ca-certificates ${host_apt_cache:+--cache-dir="$host_apt_cache"} bookworm "$work/root" "$mirror"
  write_chroot_sources "$work/root" no
  mount_chroot "$work/root"
  step "apt-get update (base)" in_chroot apt-get update
  step "apt-get dist-upgrade (base)" in_chroot apt-get -y dist-upgrade
  # No initramfs in the base: each variant makes the one it boots after DKMS, so making it here
  # (twice: the kernel's hook and the initramfs-tools trigger) would be thrown away.
  step "divert update-initramfs while the base is built" \
    in_chroot dpkg-divert --local --rename --divert /usr/sbin/update-initramfs.lnstore --add /usr/sbin/update-initramfs
  printf '#!/bin/sh\n# lnstore image build: the variant makes the initramfs\nexit 0\n' >"$work/root/usr/sbin/update-initramfs"
  chmod 755 "$work/root/usr/sbin/update-initramfs"
  step "install kernel, headers, dkms and tools" \
    in_chroot apt-get install -y --no-install-recommends "${common_packages[@]}"
  umount_chroot
  step "apt-get clean" in_chroot apt-get clean
  rm -f "$work/root/etc/resolv.conf"
  step "pack base tarball" bash -c 'set -o pipefail; tar -C "$1" --numeric-owner --xattrs --xattrs-include="*" -cf - . | zstd -q -T0 -3 -o "$2"' _ "$work/root" "$base_tar.tmp.$$"
  mv "$base_tar.tmp.$$" "$base_tar"
  log "base ready: $base_tar ($(du -h "$base_tar" | cut -f1), $((SECONDS - t0)) s)"
}

exec 8>"$cache/.lock-base"
if ! flock -n 8; then
  log "another build is making the shared base; waiting for it"
  flock 8
fi
if [ -f "$base_tar" ] && [ -z "${LNSTORE_VM_REBUILD:-}" ]; then
  log "reusing shared base $base_tar"
  step "unpack base" bash -c 'set -o pipefail; zstd -q -dc "$2" | tar -C "$1" --numeric-owner --xattrs --xattrs-include="*" -xpf -' _ "$work/root" "$base_tar"
else
  build_base
  # The tree is still there: go on with it instead of unpacking the tarball just made.
fi
flock -u 8
exec 8>&-

# --- variant: OpenZFS from the chosen suite, DKMS, initramfs, node, init --------------------------
kver=$(ls "$work/root/lib/modules" | sort -V | tail -n 1)
[ -n "$kver" ] && [ -d "$work/root/usr/src/linux-headers-$kver" ] \
  || die "no kernel with headers in the base (found '$kver'); delete $base_tar and rebuild"
log "building $variant for kernel $kver"

if [ "$zfs_suite" = bookworm-backports ]; then
  write_chroot_sources "$work/root" yes
  cat >"$work/root/etc/apt/preferences.d/lnstore-zfs-backports" <<'EOF'
# lnstore openzfs-2.3 image: OpenZFS (and only OpenZFS) from bookworm-backports
Package: zfs-dkms zfsutils-linux zfs-zed zfs-test zfs-initramfs libzfs* libzpool* libnvpair* libuutil* pam-zfs-key python3-pyzfs
Pin: release n=bookworm-backports
Pin-Priority: 990
EOF
else
  write_chroot_sources "$work/root" no
fi
mount_chroot "$work/root"
step "apt-get update ($variant)" in_chroot apt-get update
# zfs-test: zinject, the journeys' checksum/IO fault injector (what the OpenZFS test suite uses).
# KCFLAGS=-g0: the module without debug info (Debian's kernel config asks for it, and nothing here
# reads it): the compiler does less in the DKMS build and in configure's hundreds of kernel tests.
step "install zfs-dkms zfsutils-linux zfs-zed zfs-test from $zfs_suite (DKMS builds zfs.ko, takes minutes)" \
  in_chroot env KCFLAGS=-g0 apt-get install -y --no-install-recommends zfs-dkms zfsutils-linux zfs-zed zfs-test
zfs_version=$(chroot "$work/root" dpkg-query -W -f '${Version}' zfsutils-linux)
case "$zfs_version" in
  "$zfs_expect"*) ;;
  *) die "installed zfsutils-linux $zfs_version, expected $zfs_expect* for $variant (check the apt sources/pin)" ;;
esac
if ! compgen -G "$work/root/lib/modules/$kver/updates/dkms/zfs.ko*" >/dev/null; then
  log "DKMS did not build zfs.ko for $kver during install; building it explicitly"
  step "dkms install zfs for $kver" in_chroot env KCFLAGS=-g0 dkms install -m zfs -v "${zfs_version%%-*}" -k "$kver"
fi
compgen -G "$work/root/lib/modules/$kver/updates/dkms/zfs.ko*" >/dev/null \
  || die "zfs.ko for $kver is missing after DKMS; see the build log"

printf '%s\n' virtio_pci virtio_blk zfs 9p 9pnet_virtio >>"$work/root/etc/initramfs-tools/modules"
if [ -e "$work/root/usr/sbin/update-initramfs.lnstore" ]; then
  rm -f "$work/root/usr/sbin/update-initramfs"
  step "restore update-initramfs" in_chroot dpkg-divert --local --rename --remove /usr/sbin/update-initramfs
fi
step "update-initramfs for $kver" in_chroot update-initramfs -c -k "$kver"

install -m 0755 "$node_bin" "$work/root/usr/local/bin/node"
install -m 0755 "$here/image/lnstore-init" "$work/root/sbin/lnstore-init"
mkdir -p "$work/root/lnstore-run" "$work/root/project"
echo lnstore-vm >"$work/root/etc/hostname"
umount_chroot
step "apt-get clean" in_chroot apt-get clean
rm -rf "$work/root/var/lib/apt/lists/"*
rm -f "$work/root/etc/resolv.conf"

# --- the image ----------------------------------------------------------------------------------
mkdir "$work/image"
cp "$work/root/boot/vmlinuz-$kver" "$work/image/vmlinuz"
cp "$work/root/boot/initrd.img-$kver" "$work/image/initrd.img"
used_mb=$(du -sm --one-file-system "$work/root" | cut -f1)
size_mb=$(( used_mb * 3 / 2 + 1024 ))
[ "$size_mb" -ge 3072 ] || size_mb=3072
truncate -s "${size_mb}M" "$work/image/root.img"
step "mkfs.ext4 -d (${size_mb} MiB image, $used_mb MiB used)" \
  mkfs.ext4 -q -F -L lnstore-root -d "$work/root" "$work/image/root.img"
cp "$log_file" "$work/image/build.log"
{
  echo "variant=$variant"
  echo "key=$image_key"
  echo "kernel=$kver"
  echo "zfs=$zfs_version"
  echo "node=$node_version"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - t0)) s"
  # How long each step took (the build log's timestamps), for the README's cold-build figures.
  echo "steps:"
  cat "$work/steps.log"
} >"$work/image/image.txt"

rm -rf "$image_dir"
mv "$work/image" "$image_dir"
log "image ready: $image_dir (zfs $zfs_version, kernel $kver, $((SECONDS - t0)) s)"

# Older images of this variant and older bases are dead weight once a new one is in place.
for old in "$cache/$variant"-*; do
  [ "$old" = "$image_dir" ] || [ ! -d "$old" ] || { log "removing outdated $old"; rm -rf "$old"; }
done
for old in "$cache"/base-*.tar.zst; do
  [ "$old" = "$base_tar" ] || [ ! -f "$old" ] || { log "removing outdated $old"; rm -f "$old"; }
done
rm -f "$cache/$variant"-*.failed.log
echo "$image_dir"
