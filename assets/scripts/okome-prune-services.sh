#!/usr/bin/env bash
# okome-prune-services: masks the units listed in /etc/okome/pruned-services (stopped now and
# never started again, by anything), and unmasks those it masked before that the list no
# longer names. A unit that is not installed is masked all the same.
#   okome-prune-services          apply the list
#   okome-prune-services --check  change nothing; exit 1 naming each listed unit not masked
# Installed by okome-cache (components/HardenedPi.ts).
set -euo pipefail
list=${OKOME_PRUNED_LIST:-/etc/okome/pruned-services}
state=${OKOME_PRUNED_STATE:-/var/lib/okome/pruned-services}

# No list (the set was removed): nothing stays masked.
units=()
[ ! -f "$list" ] || mapfile -t units < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")

masked() { [ "$(systemctl is-enabled "$1" 2>/dev/null || true)" = masked ]; }

if [ "${1:-}" = --check ]; then
  not=()
  for unit in "${units[@]}"; do masked "$unit" || not+=("$unit"); done
  if [ ${#not[@]} -gt 0 ]; then
    echo "okome-prune-services: not masked: ${not[*]}" >&2
    exit 1
  fi
  echo "okome-prune-services: ${#units[@]} units masked"
  exit 0
fi

# One systemctl call each way: every mask or unmask reloads systemd, which is slow on a Pi.
unmask=()
if [ -f "$state" ]; then
  while read -r unit; do
    [ -n "$unit" ] || continue
    printf '%s\n' "${units[@]}" | grep -qxF -- "$unit" || unmask+=("$unit")
  done <"$state"
fi
if [ ${#unmask[@]} -gt 0 ]; then
  systemctl unmask "${unmask[@]}"
  echo "okome-prune-services: unmasked (no longer listed): ${unmask[*]}"
fi
mask=()
for unit in "${units[@]}"; do masked "$unit" || mask+=("$unit"); done
if [ ${#mask[@]} -gt 0 ]; then
  systemctl mask --now "${mask[@]}"
  echo "okome-prune-services: masked: ${mask[*]}"
fi
mkdir -p "$(dirname "$state")"
printf '%s\n' "${units[@]}" >"$state.new" && mv "$state.new" "$state"
