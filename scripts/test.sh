#!/usr/bin/env bash
# Runs every test tier on a fresh Debian 12 machine, installing what the tests need first.
# Needs root (apt packages, FUSE, ZFS pools). Usage: sudo ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase prints its wall time, so a CI log shows where the budget went (the README's figures).
phase_start=$SECONDS
phase_done() { echo "== $1 took $((SECONDS - phase_start)) s (total $SECONDS s)"; phase_start=$SECONDS; }

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: the tests create real ZFS pools and need root: run it with sudo" >&2
  exit 1
fi

# zfs-fuse: real ZFS in user space for the integration tier (the host kernel has no ZFS module).
# systemd: its systemd-analyze checks the unit templates `lnstore schedule install` writes.
# smartmontools: replace-disk runs the real smartctl against the new device (it skips file vdevs).
# fuse, libfuse2: the real ChironFS 1.1.1 (../shared/prebuilt/chironfs/ beside the project, which the
# tests use by default; LNSTORE_CHIRONFS_BIN overrides it): its tests fail, never skip, without it.
# qemu-system-x86, debootstrap, zstd, e2fsprogs: the VM tier (test/vm), which builds a Debian 12
# image with the OpenZFS kernel module and runs the integration suites in it under QEMU.
# libsqlite3-0 libpq5 libsodium23 libgmp10 libssl3 zlib1g, python3, zstd: the real Core Lightning
# (../shared/prebuilt/cln: lightningd's runtime libraries, fake-bitcoin-cli, unpacking the tarball).
packages=(zfs-fuse fuse libfuse2 systemd sqlite3 smartmontools qemu-system-x86 qemu-utils debootstrap zstd e2fsprogs
  libsqlite3-0 libpq5 libsodium23 libgmp10 libssl3 zlib1g python3)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
phase_done "apt packages"

# Fails loudly when QEMU cannot run or an image cannot be built: this tier never passes unrun.
for tool in qemu-system-x86_64 debootstrap; do
  command -v "$tool" >/dev/null || { echo "scripts/test.sh: $tool is missing after the install above: the VM tier (npm run test:vm) cannot run" >&2; exit 1; }
done
# The VM images (a cold cache: debootstrap and two DKMS builds, mostly single-threaded) build in
# the background while `npm ci` and `npm test` run: the two share the cores instead of taking turns.
images_log=$(mktemp "${TMPDIR:-/tmp}/lnstore-images.XXXXXX")
setsid test/vm/build-images.sh >"$images_log" 2>&1 &
images_pid=$!
trap 'kill -- -"$images_pid" 2>/dev/null || true; rm -f "$images_log"' EXIT
echo "== building the VM images in the background (test/vm/build-images.sh, pid $images_pid)"

echo "== npm ci"
npm ci --no-audit --no-fund
phase_done "npm ci"
echo "== npm test (build, type check, unit and zfs-fuse integration tests)"
npm test
phase_done "npm test"

if ! wait "$images_pid"; then
  cat "$images_log" >&2
  echo "scripts/test.sh: the VM images could not be built (above): the VM tier cannot run" >&2
  exit 1
fi
cat "$images_log"
phase_done "waiting for the VM images"
echo "== npm run test:vm (OpenZFS 2.1 and 2.3 kernel module in QEMU)"
npm run test:vm
phase_done "npm run test:vm"
