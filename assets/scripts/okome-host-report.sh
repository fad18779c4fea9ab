#!/usr/bin/env bash
# okome-host-report: what the hardening left for later or could not do here, as one JSON object:
#   virtualization  "none" on a Pi, else what systemd-detect-virt says (qemu, systemd-nspawn...)
#   raspberryPi     whether the firmware says it is a Raspberry Pi
#   pendingReboots  what waits for a reboot: fstab entries not live yet, firmware changes
#   skipped         settings this host cannot take (a container's kernel-wide ones)
# Read-only. Installed by okome-cache (components/HardenedPi.ts).
set -euo pipefail
fstab=${OKOME_FSTAB:-/etc/fstab}
run=${OKOME_RUN_DIR:-/run/okome}

virt=$(systemd-detect-virt || true)
pi=false
grep -qs "Raspberry Pi" /proc/device-tree/model && pi=true

pending=()
# A tmpfs entry is live when its mount point is a tmpfs.
while read -r target; do
  [ "$(findmnt -no FSTYPE --mountpoint "$target" || true)" = tmpfs ] ||
    pending+=("fstab: $target becomes a tmpfs")
done < <(findmnt --fstab -t tmpfs -no TARGET --tab-file "$fstab")
# A container's root is the machine's (okome-fstab-apply lists it as skipped).
if ! systemd-detect-virt --container --quiet; then
  for option in noatime "commit=$(findmnt --fstab -no OPTIONS --target / --tab-file "$fstab" | sed -n 's/.*commit=\([0-9]*\).*/\1/p')"; do
    [ "$option" = commit= ] && continue
    findmnt -no OPTIONS / | tr , '\n' | grep -qxF "$option" || pending+=("fstab: / mounted without $option")
  done
fi
# Written by whoever changed a file read only at boot (/run is empty after a reboot).
for f in "$run"/reboot-required/*; do [ -f "$f" ] && pending+=("$(cat "$f")"); done

skipped=()
for f in "$run"/skipped/*; do
  [ -f "$f" ] || continue
  area=${f##*/}
  while IFS= read -r line; do skipped+=("$area: $line"); done <"$f"
done

json_list() { if [ $# -eq 0 ]; then echo '[]'; else printf '%s\n' "$@" | jq -R . | jq -sc .; fi; }
jq -nc --arg virt "$virt" --argjson pi "$pi" \
  --argjson pending "$(json_list "${pending[@]}")" --argjson skipped "$(json_list "${skipped[@]}")" \
  '{virtualization: $virt, raspberryPi: $pi, pendingReboots: $pending, skipped: $skipped}'
