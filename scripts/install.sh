#!/usr/bin/env bash
# Installs lnstore from this checkout where only root can write, and runs `lnstore demo`: the whole
# story (pool, scrub, alert, disk replacement, refused start) for real, in a throwaway sandbox.
#
#   sudo ./scripts/install.sh              install, or upgrade (from a newer checkout), then the demo
#   sudo ./scripts/install.sh --no-demo    the same without the demo
#   sudo ./scripts/install.sh --uninstall  remove the installed copy (not its schedule: see the README)
#
# What root runs (timers, the ZED hook, the node's start gate) must be root's alone: lnstore refuses
# to schedule a copy others can write. So the package is packed (`npm pack`: exactly the files it
# ships), unpacked into $LNSTORE_PREFIX/lib/lnstore as root, its production dependencies installed
# there (those of package-lock.json, less the dev-only ones), and the new copy swapped in whole; the checkout
# itself can stay the operator's.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${LNSTORE_PREFIX:-/usr/local}
home="$prefix/lib/lnstore"
link="$prefix/bin/lnstore"
demo=yes

for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=no ;;
    --uninstall)
      [ "$(id -u)" -eq 0 ] || { echo "scripts/install.sh: run it as root (sudo ./scripts/install.sh --uninstall)" >&2; exit 1; }
      rm -rf "$home" "$home.old" "$home.new"
      [ -L "$link" ] && rm -f "$link"
      echo "lnstore removed from $home. Its schedule, start gate and state were left as they are: see the README (Uninstall)."
      exit 0
      ;;
    *) echo "scripts/install.sh: unknown argument $arg (use --no-demo or --uninstall)" >&2; exit 1 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/install.sh: run it as root (sudo ./scripts/install.sh): lnstore is installed where only root can write" >&2
  exit 1
fi

if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null; then
  echo "scripts/install.sh: lnstore needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none)); the README's Install says how on Debian 12" >&2
  exit 1
fi

umask 022
echo "== building from this checkout"
npm ci --no-audit --no-fund
npm run build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --ignore-scripts --silent --pack-destination "$work")

echo "== installing into $home (root-owned)"
rm -rf "$home.new"
mkdir -p "$home.new" "$prefix/bin"
tar -xzf "$work/$tarball" -C "$home.new" --strip-components=1 --no-same-owner
# The dependencies `npm ci` just installed from package-lock.json (better-sqlite3 compiled once), less the dev-only ones.
cp package-lock.json "$home.new/"
cp -a node_modules "$home.new/"
(cd "$home.new" && npm prune --omit=dev --no-audit --no-fund >/dev/null)
chown -R root:root "$home.new"
chmod -R go-w "$home.new"
# Swap the whole copy at once: the units keep running $home/bin/run.js across upgrades.
rm -rf "$home.old"
[ -d "$home" ] && mv "$home" "$home.old"
mv "$home.new" "$home"
rm -rf "$home.old"
ln -sfn "$home/bin/run.js" "$link"

# An install of lnstore before this one `npm link`ed a checkout: that copy is not root's alone.
global=$(npm prefix -g)/lib/node_modules/lnstore
if [ -L "$global" ]; then
  echo "== removing the old \`npm link\` of a checkout ($global)"
  npm rm -g lnstore --no-audit --no-fund >/dev/null
fi

hash -r
echo "lnstore $("$link" --version | cut -d' ' -f1 | cut -d/ -f2) installed: $link -> $home/bin/run.js"
if [ "$(command -v lnstore)" != "$link" ]; then
  echo "note: \`lnstore\` on your PATH is $(command -v lnstore || echo missing), not $link: put $prefix/bin first in PATH" >&2
fi

[ "$demo" = yes ] || exit 0
if ! command -v zpool >/dev/null; then
  # The demo needs a ZFS. zfs-fuse runs in user space on any kernel; on a real node install OpenZFS
  # instead (apt remove zfs-fuse, then apt install zfs-dkms zfsutils-linux from contrib).
  echo "== no ZFS here: installing zfs-fuse for the demo"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zfs-fuse >/dev/null
fi

# The demo runs the real Core Lightning when the prebuilt one is at hand (../shared/prebuilt/cln
# beside this checkout; the installed copy is elsewhere, so it is named here), else a stand-in node
# and it says why.
prebuilt=$(cd .. && pwd)/shared/prebuilt/cln
if [ -z "${LNSTORE_CLN_TARBALL:-}" ] && tarball=$(ls "$prebuilt"/core-lightning-*.tar.zst 2>/dev/null | head -n 1) && [ -n "$tarball" ]; then
  export LNSTORE_CLN_TARBALL=$tarball LNSTORE_FAKE_BITCOIN_CLI=${LNSTORE_FAKE_BITCOIN_CLI:-$prebuilt/fake-bitcoin-cli}
fi
echo "== lnstore demo"
"$link" demo
echo
echo "lnstore is installed. On a machine with a pool: lnstore status"
