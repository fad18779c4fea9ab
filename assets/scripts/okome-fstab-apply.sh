#!/usr/bin/env bash
# okome-fstab-apply: applies /etc/fstab live, as far as it safely can, and leaves the rest to the
# next boot (okome-host-report lists that as a pending reboot).
#   okome-fstab-apply           remount / with its fstab options; resize the tmpfs already mounted;
#                               put each directory that becomes a tmpfs onto one, contents
#                               included, then recreate the log dirs and have nginx reopen its logs
#   okome-fstab-apply --verify  check /etc/fstab itself (findmnt --verify: sources, types, options)
# Mounting live is not optional: once systemd knows the new fstab, restarting any service that
# needs /var/log or /tmp (journald, Redis) mounts an empty tmpfs there. Contents that do not fit
# stay where they are, and that mount waits for the reboot.
# In a container the root filesystem is the machine's: its options are skipped, and that is
# recorded in /run/okome/skipped/fstab; the tmpfs mounts are the container's own and do apply.
# Installed by okome-cache (components/HardenedPi.ts).
set -euo pipefail
fstab=${OKOME_FSTAB:-/etc/fstab}
run=${OKOME_RUN_DIR:-/run/okome}
skipped=$run/skipped/fstab
container=0
systemd-detect-virt --container --quiet && container=1

if [ "${1:-}" = --verify ]; then
  if [ "$container" -eq 1 ]; then
    # No block devices: the root's source cannot resolve. The tmpfs lines need none.
    findmnt --verify --verbose --tab-file "$fstab" -t tmpfs
  else
    findmnt --verify --verbose --tab-file "$fstab"
  fi
  exit
fi

mkdir -p "$run"
if [ "$container" -eq 1 ]; then
  mkdir -p "$(dirname "$skipped")"
  echo "root filesystem options (the container's root is the machine's)" >"$skipped"
else
  rm -f "$skipped"
  # Without device and directory both given, mount takes the options from fstab.
  mount -o remount /
  echo "okome-fstab-apply: / remounted with $(findmnt -no OPTIONS /)"
fi

# onto_tmpfs TARGET: mounts TARGET's fstab tmpfs over it with what it held (the journal aside:
# journald keeps it in RAM from its next start). Staged under /run, itself a tmpfs.
onto_tmpfs() {
  local target=$1 stage
  stage=$(mktemp -d "$run/stage.XXXXXX")
  find "$target" -mindepth 1 -maxdepth 1 ! -path /var/log/journal -exec cp -a -t "$stage/" {} +
  mount "$target"
  # The entries only: copying the stage dir itself would give the tmpfs root its 0700.
  if ! find "$stage" -mindepth 1 -maxdepth 1 -exec cp -a -t "$target/" {} +; then
    umount "$target"
    rm -rf "$stage"
    echo "okome-fstab-apply: $target does not fit its tmpfs: it becomes one at the next boot" >&2
    return 0
  fi
  rm -rf "$stage"
  echo "okome-fstab-apply: $target is now a tmpfs ($(findmnt -no SIZE --mountpoint "$target" | tr -d " "))"
}

onto_log=0
while read -r target; do
  if [ "$(findmnt -no FSTYPE --mountpoint "$target" || true)" = tmpfs ]; then
    mount -o remount "$target"
    echo "okome-fstab-apply: $target resized to $(findmnt -no SIZE --mountpoint "$target" | tr -d " ")"
  else
    onto_tmpfs "$target"
    [ "$target" != /var/log ] || onto_log=1
  fi
done < <(findmnt --fstab -t tmpfs -no TARGET --tab-file "$fstab")

if [ "$onto_log" -eq 1 ]; then
  systemd-tmpfiles --create
  # nginx holds its log files open: the ones it wrote to are under the tmpfs now.
  if [ -s /run/nginx.pid ]; then kill -USR1 "$(cat /run/nginx.pid)"; fi
fi
