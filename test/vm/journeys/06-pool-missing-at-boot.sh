#!/bin/bash
# Journey 6: the pool's disks are absent when the machine boots -> the pool is not imported, the
# gate keeps the node down, lnstore says CRITICAL with the import command -> the disks come back
# (hot-plugged through QEMU's monitor) -> the advised command brings the pool back, the node starts,
# nothing lost.
. "$(dirname "$0")/lib.sh"

case "$boot" in
  1)
    machine_writing
    stop_writer
    systemctl start lnstore-check.service
    echo "1 2" >/lnstore-run/absent-next
    say "the next boot comes up without disks 1 and 2"
    reboot_next ;;
  2)
    wait_for 300 "systemd's start of lightningd.service at boot has an outcome" \
      bash -c 's=$(systemctl show -p ActiveState --value lightningd.service); [ "$s" = failed ] || [ "$s" = active ] || [ "$s" = inactive ]'
    ! systemctl is-active --quiet lightningd.service || fail "the node runs although its pool is missing"
    ! zpool list -H "$POOL" >/dev/null 2>&1 || fail "pool $POOL is imported although its disks are absent"
    lnstore status >"$J/status.out" 2>&1; rc=$?
    [ "$rc" -eq 2 ] || fail "lnstore status exits $rc with the pool missing (expected 2, CRITICAL): $(head -n 6 "$J/status.out" | tr '\n' ' ')"
    advice=$(grep -oE 'zpool import [^ ]*( [^ (]+)*' "$J/status.out" | head -n 1)
    [ -n "$advice" ] || fail "lnstore status does not advise zpool import: $(head -n 8 "$J/status.out" | tr '\n' ' ')"
    say "status advises: $advice; putting the disks back"
    for i in 1 2; do
      monitor "drive_add 0 file={disks}/disk$i.img,if=none,id=disk$i,format=raw,cache=unsafe" >/dev/null
      monitor "device_add virtio-blk-pci,drive=disk$i,id=lnstore-disk$i,serial=lnstore-disk$i" >/dev/null
      wait_for 60 "disk $i is back" test -e "$(disk "$i")"
    done
    echo "1 2" >/lnstore-run/present-next
    say "operator runs: $advice"
    bash -c "$advice" || fail "the advised '$advice' failed"
    systemctl reset-failed lightningd.service
    systemctl start lightningd.service || fail "the node does not start after the pool came back"
    check_recovered
    pass "pool missing at boot: node kept down, '$advice' brought it back"
    ;;
esac
