#!/usr/bin/env bash
# Installs lnstore from this checkout (as the `lnstore` command) and runs `lnstore demo`: the whole
# story (pool, scrub, alert, disk replacement, refused start) for real, in a throwaway sandbox.
# Usage: sudo ./scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "scripts/install.sh: lnstore needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

echo "== installing dependencies and building"
npm ci --no-audit --no-fund
npm run build
echo "== linking the lnstore command"
npm link --no-audit --no-fund >/dev/null
echo "lnstore installed: $(command -v lnstore)"
if ! command -v zpool >/dev/null; then
  # The demo needs a ZFS. zfs-fuse runs in user space on any kernel; on a real node install OpenZFS
  # instead (apt remove zfs-fuse, then apt install zfs-dkms zfsutils-linux from contrib).
  echo "== no ZFS here: installing zfs-fuse for the demo"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zfs-fuse >/dev/null
fi

echo "== lnstore demo"
lnstore demo
echo
echo "lnstore is installed. On a machine with a pool: lnstore status"
