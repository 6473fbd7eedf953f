# Shared steps of the operator journeys (test/vm/journeys/NN-*.sh), sourced in the VM, which
# test/vm/journeys.sh boots with systemd as init (run.sh --systemd --state DIR). A journey runs
# once per boot, with LNSTORE_VM_BOOT=1, 2, ...; it ends each boot with one of
#   pass / fail REASON   the verdict (a LNSTORE-JOURNEY line on the console, exit 0 / 1)
#   reboot_next          exit 75: boot the same machine again (systemd brings up what is enabled)
#   power_cut            ask the host to kill QEMU at once (no sync, no unmount), then boot again
# What lives across boots is on the root overlay and the disks (run.sh --state); everything the
# journey writes about itself is under $J, off the pool.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

J=/var/lib/lnstore-journey
CLN=/opt/cln
DATA=/srv/lightning
POOL=lnjourney
SMTP_PORT=2525
MAILDIR=$J/mail
ACKED=$J/acked
here=/project/test/vm/journeys
journey=${LNSTORE_JOURNEY_NAME:-$(basename "$0" .sh)}
boot=${LNSTORE_VM_BOOT:-1}
mkdir -p "$J"

# Each line says the seconds since the machine's set-up began (boot 1), to show where a journey's time goes.
say() { echo "journey $journey (boot $boot, +$(( $(date +%s) - $(cat "$J/started" 2>/dev/null || date +%s) )) s): $*"; }
disk() { echo "/dev/disk/by-id/virtio-lnstore-disk$1"; }
cli() { "$CLN/bin/lightning-cli" --network=regtest --lightning-dir="$DATA" "$@"; }
now_ms() { date +%s%3N; }

# --- verdicts ------------------------------------------------------------------------------------
# One line the host's summary reads: the journey, the variant, the verdict, and the acknowledged
# and lost writes (acknowledged newaddr results missing from the node's wallet afterwards).
report() { # result detail
  local acked lost
  acked=$( [ -f "$ACKED" ] && wc -l <"$ACKED" || echo 0)
  lost=$(cat "$J/lost" 2>/dev/null || echo -1)
  node -e 'const [j,v,r,a,l,d,s]=process.argv.slice(1); console.log("LNSTORE-JOURNEY " + JSON.stringify({journey:j,variant:v,result:r,acknowledged:+a,lost:+l,detail:d,seconds:+s}))' \
    "$journey" "${LNSTORE_VM_VARIANT:-?}" "$1" "$acked" "$lost" "$2" "$(( $(date +%s) - $(cat "$J/started" 2>/dev/null || date +%s) ))"
}
pass() { report passed "${1:-}"; exit 0; }
fail() { say "FAILED: $*"; diagnostics; report failed "$*"; exit 1; }
reboot_next() { say "rebooting"; sync; exit 75; }
power_cut() { say "asking the host for a power cut"; echo cut >/lnstore-run/power-cut.tmp && mv /lnstore-run/power-cut.tmp /lnstore-run/power-cut; sleep 600; fail "no power cut came"; }
monitor() { # QEMU monitor command (run on the host by run.sh)
  echo "$*" >/lnstore-run/monitor.tmp && mv /lnstore-run/monitor.tmp /lnstore-run/monitor
  wait_for 60 "the host ran the monitor command '$*'" test ! -e /lnstore-run/monitor
  cat /lnstore-run/monitor.out
}
diagnostics() {
  say "--- diagnostics"
  zpool status -v 2>&1 | sed 's/^/  /'
  systemctl --no-pager status lightningd.service 2>&1 | head -n 20 | sed 's/^/  /'
  lnstore status 2>&1 | head -n 40 | sed 's/^/  /'
  journalctl --no-pager -n 15 -u lightningd.service 2>&1 | sed 's/^/  /'
  say "--- lightningd's own log, and the fake chain's last answers"
  tail -n 25 /var/log/lightningd.log 2>&1 | cut -c1-300 | sed 's/^/  /'
  tail -n 8 /var/lib/fakechain/calls.log 2>&1 | cut -c1-300 | sed 's/^/  /'
  say "--- ZED, its events and lnstore's zedlet"
  journalctl --no-pager -n 25 -u zfs-zed.service -t lnstore-zed 2>&1 | sed 's/^/  /'
  zpool events 2>&1 | tail -n 15 | sed 's/^/  /'
  ls -l /etc/zfs/zed.d/ 2>&1 | grep -i lnstore | sed 's/^/  /'
  say "--- mailbox: $(mail_count) message(s)"
  mails 2>&1 | tail -n 2 | cut -c1-400 | sed 's/^/  /'
}

# wait_for SECONDS WHAT command...: the condition, polled each second, within a deadline; on
# timeout the journey fails saying what it waited for (and the diagnostics show what was there).
wait_for() {
  local seconds=$1 what=$2 end; shift 2
  end=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "waited ${seconds} s for: $what"
    sleep 1
  done
}

# --- the operator's machine ----------------------------------------------------------------------
# Core Lightning from ../shared/prebuilt (the 9p share /shared), a mailbox, lnstore on PATH, the
# node as a systemd service on the fake regtest chain, then lnstore set up as the README says.
install_machine() {
  date +%s >"$J/started"
  say "set-up begins ($(cut -d' ' -f1 /proc/uptime) s after the kernel started)"
  zstd -dc /shared/prebuilt/cln/core-lightning-*.tar.zst | tar -C /opt -xf - || fail "cannot unpack /shared/prebuilt/cln (is ../shared shared into the VM?)"
  install -m 0755 /shared/prebuilt/cln/fake-bitcoin-cli "$CLN/fake-bitcoin-cli"
  # On PATH as `make install` would put them: lnstore's gate asks lightning-hsmtool whether the
  # database belongs to this node's hsm_secret.
  ln -sf "$CLN"/bin/* /usr/local/bin/
  # lnstore laid out as scripts/install.sh installs it (what `npm pack` ships and the production
  # dependencies, root's alone) on the machine's own disk, from the archive journeys.sh packed. Run
  # from the project share instead, each of its thousands of files is a 9p round trip under
  # emulation: `preflight install`'s look at every file root will run took 55-138 s there beside
  # another machine.
  mkdir -p /usr/local/lib/lnstore
  (umask 022 && tar -C /usr/local/lib/lnstore -xf /project/node_modules/.cache/lnstore-journeys/lnstore.tar --no-same-owner --no-same-permissions) \
    || fail "cannot install lnstore from the archive test/vm/journeys.sh packs (node_modules/.cache/lnstore-journeys/lnstore.tar)"
  ln -sfn /usr/local/lib/lnstore/bin/run.js /usr/local/bin/lnstore
  say "lnstore installed in /usr/local/lib/lnstore"
  mkdir -p /var/lib/fakechain "$DATA"
  # The fake chain's block cache (chain.txt, appended at each poll; fake-bitcoin-cli rebuilds it from
  # state.json when it is missing) lives in /run, memory, so each boot starts it afresh. On the root
  # disk, a power cut left its tail as zeros, which fake-bitcoin-cli cannot parse (ValueError): its
  # next call failed and lightningd crashed (SIGSEGV) at its start, in journey 8 on both versions.
  # bitcoind's own block store survives a power cut; this stand-in's cache did not.
  ln -sfn /run/lnstore-fakechain-blocks.txt /var/lib/fakechain/chain.txt
  cat >/etc/systemd/system/lnstore-mail-sink.service <<UNIT
[Unit]
Description=The operator's mailbox (SMTP on 127.0.0.1:$SMTP_PORT, lnstore journey VM)
RequiresMountsFor=/project
[Service]
ExecStart=/usr/local/bin/node $here/mail-sink.mjs $SMTP_PORT $MAILDIR
WorkingDirectory=/project
[Install]
WantedBy=multi-user.target
UNIT
  # --developer makes newaddr answer one p2tr address (the writer's acknowledged write); blocks are
  # polled every 30 s as in production: every 2 s, the fake chain's Python start-up under emulation
  # kept the VM's one CPU busier (journey 4 on 2.1: 507 s against 468 s, side by side).
  cat >/etc/systemd/system/lightningd.service <<UNIT
[Unit]
Description=Core Lightning (regtest, fake chain)
After=network.target
[Service]
Environment=FAKE_BTC_DIR=/var/lib/fakechain
ExecStart=$CLN/bin/lightningd --network=regtest --lightning-dir=$DATA --bitcoin-cli=$CLN/fake-bitcoin-cli --bind-addr=127.0.0.1:19846 --log-file=/var/log/lightningd.log --developer --dev-bitcoind-poll=30
ExecStop=$CLN/bin/lightning-cli --network=regtest --lightning-dir=$DATA stop
TimeoutStartSec=300
[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now lnstore-mail-sink.service zfs-zed.service || fail "cannot start the mailbox or ZED"
  # The node's first start makes its hsm_secret and database on the plain disk.
  systemctl enable --now lightningd.service || fail "lightningd did not start"
  wait_for 180 "the node answers getinfo" cli getinfo
  systemctl stop lightningd.service
  say "the node made its hsm_secret and database on the plain disk"
  mkdir -p /etc/lnstore
  cat >/etc/lnstore/config.json <<JSON
{"node": {"kind": "systemd", "unit": "lightningd.service", "network": "regtest"},
 "alerts": {"to": ["operator@example.org"], "from": "lnstore@node.example.org",
            "smtp": {"host": "127.0.0.1", "port": $SMTP_PORT, "tls": "none"}}}
JSON
  lnstore alert test >/dev/null 2>&1 || fail "lnstore alert test: the mailbox did not take a mail"
  wait_for 60 "the test alert in the mailbox" bash -c "ls $MAILDIR/*.eml"
  # INIT_DEVICES: the mirror's two sides (default disks 1 and 2; a journey may put device-mapper
  # devices over them first).
  local devices=${INIT_DEVICES:-$(disk 1) $(disk 2)}
  say "lnstore init --mirror $devices"
  # shellcheck disable=SC2086
  lnstore init --mirror $devices --pool "$POOL" --data-dir "$DATA" --yes || fail "lnstore init failed"
  say "lnstore preflight install"
  lnstore preflight install --yes || fail "lnstore preflight install failed"
  say "lnstore schedule install"
  lnstore schedule install --yes || fail "lnstore schedule install failed"
  [ -n "$(ls /etc/zfs/zed.d/*lnstore* 2>/dev/null)" ] || fail "schedule install wrote no zedlet into /etc/zfs/zed.d"
  say "starting the node through lnstore's gate"
  systemctl start lightningd.service || fail "the node did not start through lnstore's gate"
  wait_for 180 "the node answers getinfo after init" cli getinfo
  say "machine ready: pool $POOL, node running, gate and schedule installed"
}

# --- acknowledged writes -------------------------------------------------------------------------
# A writer that asks the node for a new address in a loop and records each answer (the node
# acknowledged it: it is in the wallet's database) in $ACKED, off the pool.
start_writer() {
  systemd-run --unit=journey-writer --quiet /bin/bash -c "
    while :; do
      a=\$($CLN/bin/lightning-cli --network=regtest --lightning-dir=$DATA newaddr 2>/dev/null | sed -n 's/.*\"p2tr\": \"\\(.*\\)\".*/\\1/p')
      [ -n \"\$a\" ] && echo \"\$a\" >>$ACKED && sync $ACKED
      sleep 0.5
    done" || fail "cannot start the writer"
}
acked_at_least() { [ "$(cat "$ACKED" 2>/dev/null | wc -l)" -ge "$1" ]; }
stop_writer() { systemctl stop journey-writer.service 2>/dev/null || true; }

# The operator's machine set up (INIT_DEVICES passes through) and the writer running with its
# first acknowledged writes.
machine_writing() {
  install_machine
  start_writer
  wait_for 120 "the writer's first acknowledged writes" acked_at_least 5
}

# The opening of most journeys: machine_writing, then one run of what the check timer runs
# (lnstore notes the pool healthy and its error counters: the baseline a fault is judged against).
machine_in_service() {
  machine_writing
  systemctl start lnstore-check.service || fail "lnstore-check.service (what the check timer runs) failed on the healthy pool"
}

# Every acknowledged address must be in the wallet (listaddresses); writes lost go to $J/lost.
# Only the writes acknowledged before the listing count: a writer still running acknowledges more
# while listaddresses runs (counting those as lost failed journey 1 with "18 of 136").
check_writes() {
  local listed lost=0 a upto
  upto=$(wc -l <"$ACKED" 2>/dev/null || echo 0)
  listed=$(cli listaddresses 2>/dev/null) || fail "the node does not answer listaddresses"
  while read -r a; do
    [ -n "$a" ] || continue
    grep -qF "\"$a\"" <<<"$listed" || lost=$((lost + 1))
  done < <(head -n "$upto" "$ACKED")
  echo "$lost" >"$J/lost"
  [ "$upto" -gt 0 ] || fail "no write was acknowledged: the writer never ran"
  [ "$lost" -eq 0 ] || fail "$lost of $upto acknowledged writes are missing from the wallet"
}

# --- the operator's reading of the mail -----------------------------------------------------------
mails() { node "$here/read-mail.mjs" "$MAILDIR"; }
mail_count() { ls "$MAILDIR"/*.eml 2>/dev/null | wc -l; }
# The first "What to do next" item of the newest mail that has one matching PATTERN.
mailed_command() { # grep pattern
  mails | node -e '
    const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").filter(Boolean).map(JSON.parse).reverse()
    const re = new RegExp(process.argv[1])
    for (const mail of lines) {
      const next = mail.text.split("What to do next:")[1]
      if (!next) continue
      for (const item of next.split("\n").map((l) => l.trim())) if (re.test(item)) { console.log(item); process.exit(0) }
    }
    process.exit(1)' "$1"
}

# Runs a command line as an operator at a terminal: on a pseudo-terminal (script), answering "yes"
# to each confirmation lnstore asks for, once it has asked (no flag added), within a deadline (an
# operator would not wait forever either). Its exit status is the command's.
operator_runs() { # command line [deadline in seconds, default 1200]
  local transcript feeder rc
  transcript=$(mktemp "$J/operator.XXXXXX")
  exec {feeder}< <(
    answered=0
    while :; do
      asked=$(grep -c 'Type "yes" to go ahead' "$transcript" 2>/dev/null)
      while [ "$answered" -lt "${asked:-0}" ]; do echo yes; answered=$((answered + 1)); done
      sleep 1
    done
  )
  local feeder_pid=$!
  timeout "${2:-1200}" script -qefc "$1" "$transcript" <&"$feeder"
  rc=$?
  kill "$feeder_pid" 2>/dev/null
  exec {feeder}<&-
  [ "$rc" -ne 124 ] || fail "'$1' did not finish within ${2:-1200} s: $(tail -n 5 "$transcript" | tr '\r\n' '  ')"
  return "$rc"
}

# The node runs, lnstore status says OK, the pool is ONLINE, every acknowledged write is there.
check_recovered() {
  wait_for 300 "lightningd.service active" systemctl is-active --quiet lightningd.service
  wait_for 180 "the node answers getinfo" cli getinfo
  zpool status -x "$POOL" | grep -q "is healthy" || fail "pool $POOL is not healthy: $(zpool status -x "$POOL" | head -n 3 | tr '\n' ' ')"
  lnstore status >"$J/status.out" 2>&1 || fail "lnstore status exits $? after recovery: $(head -n 5 "$J/status.out" | tr '\n' ' ')"
  check_writes
}
