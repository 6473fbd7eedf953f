#!/usr/bin/env bash
# Installs lnstore from this checkout (as the `lnstore` command) and runs its main job, `lnstore status`.
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
  echo "note: no zpool on PATH: install ZFS (apt install zfsutils-linux, or zfs-fuse on small boards) for lnstore to watch"
fi

echo "== lnstore status"
status=0
lnstore status || status=$?
echo "(lnstore status exited $status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"
