#!/usr/bin/env bash
# A lab host's power, for failover tests: off is a power cut (the VM or container dies at once,
# nothing shuts down), on boots it again on its disk as it was, and waits for its sshd.
#   power.sh off|on edge|model
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

action=${1:-}
case "${2:-}" in edge | model) host=okome-$2 ;; *) die "usage: lab power off|on edge|model" ;; esac
[ -f "$LAB_RUN/driver" ] || die "the lab is not up"
driver=$(cat "$LAB_RUN/driver")
case "$action" in
  off)
    "$LAB_SRC/driver-$driver.sh" poweroff "$host"
    log "$host: powered off ($driver)"
    ;;
  on)
    started=$(date +%s)
    "$LAB_SRC/driver-$driver.sh" poweron "$host"
    timeout_s=${LAB_UP_TIMEOUT:-$([ "$driver" = qemu ] && echo 600 || echo 120)}
    until ssh_probe "${LAB_ADDR[$host]}" >/dev/null; do
      [ $(($(date +%s) - started)) -lt "$timeout_s" ] ||
        die "$host: sshd did not answer within ${timeout_s}s after power on; see $LAB_RUN/$host.console.log"
      [ "$driver" != nspawn ] || "$LAB_SRC/driver-nspawn.sh" heal "$host"
      sleep 2
    done
    log "$host: powered on ($driver), sshd answers ($(($(date +%s) - started))s)"
    ;;
  *) die "usage: lab power off|on edge|model" ;;
esac
