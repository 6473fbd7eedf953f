#!/bin/sh
# lnstore's zedlet. Written by `lnstore schedule install`; `lnstore schedule remove` deletes it.
#
# ZED runs every executable in its zedlet directory for every ZFS event. On a device fault, an
# I/O or checksum error, a pool suspended after I/O failures (io_failure), a vdev state change or
# a finished scrub or resilver, this one runs an `lnstore status` health check of the pool at once
# (instead of waiting for the next timer),
# which mails an alert when a verdict changed. Bursts (a scrub finding hundreds of bad blocks)
# collapse into a few checks: a check that is running takes every event that arrives meanwhile.
{{#environment}}
export {{.}}
{{/environment}}

case "${ZEVENT_SUBCLASS:-${ZEVENT_CLASS##*.}}" in
  checksum | io | data | io_failure | probe_failure | deadman | statechange | removed | vdev_remove | open_failed | scrub_finish | resilver_finish) ;;
  *) exit 0 ;;
esac

pool="${ZEVENT_POOL:-}"
dir="${ZED_LOCKDIR:-/var/lock}"
mark="$dir/lnstore-zedlet-${pool:-all}"
touch "$mark.pending" || exit 1
exec 9>>"$mark.lock"
while [ -e "$mark.pending" ]; do
  # Another instance is checking this pool: it sees our mark and checks once more.
  flock -n 9 || exit 0
  while [ -e "$mark.pending" ]; do
    rm -f "$mark.pending"
    {{command}} status ${pool:+--pool "$pool"} 2>&1 >/dev/null | logger -t lnstore-zed
  done
  flock -u 9
done
exit 0
