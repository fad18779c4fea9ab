#!/usr/bin/env bash
# Take the lab away: stop every recorded process by its pid, unmount, delete namespaces,
# bridge, veths and taps, and remove the per-host overlays. Works from any state a killed
# run left behind; exits non-zero if anything is still there afterwards.
#   down.sh [--quiet]
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

quiet=0
[ "${1:-}" = --quiet ] && quiet=1
mkdir -p "$LAB_RUN"

# First, so that nothing reading them takes the lab for up while it goes away.
rm -f "$LAB_HOME/hosts.json" "$LAB_HOME/known_hosts"
"$LAB_SRC/mock.sh" stop
for host in "${LAB_HOSTS[@]}"; do
  # Both drivers' stops (each only touches its own pid files and mounts): a run killed
  # before it wrote the driver file still gets cleaned.
  [ -d "$LAB_RUN/$host" ] || continue
  "$LAB_SRC/driver-nspawn.sh" stop "$host"
  "$LAB_SRC/driver-qemu.sh" stop "$host"
done
"$LAB_SRC/net.sh" down

# Whatever a killed run left mounted (overlays, loop mounts, FUSE exports), deepest first.
while read -r m; do
  [ -n "$m" ] || continue
  umount "$m" 2>/dev/null || umount -l "$m"
done < <(lab_mounts)
for host in "${LAB_HOSTS[@]}"; do rm -rf "${LAB_RUN:?}/$host"; done
rm -f "$LAB_RUN/driver" "$LAB_RUN/image" "$LAB_RUN/accel"

leftover=$("$LAB_SRC/status.sh" --leftovers || true)
[ -z "$leftover" ] || die "still there after down: $leftover"
[ "$quiet" -eq 1 ] || log "lab is down"
