#!/usr/bin/env bash
# okome-sysctl-apply: applies okome's kernel settings live, then reads every one back.
#   okome-sysctl-apply          apply /etc/sysctl.d/60-okome.conf, then check
#   okome-sysctl-apply --check  change nothing; exit 1 naming each setting whose live value differs
# In a container the kernel is the machine's: a setting it cannot write (read-only /proc/sys)
# is skipped and listed in /run/okome/skipped/sysctl (okome-host-report reports it), never failed.
# Installed by okome-cache (components/HardenedPi.ts).
set -euo pipefail
conf=${OKOME_SYSCTL_CONF:-/etc/sysctl.d/60-okome.conf}
skipped=${OKOME_SKIPPED_DIR:-/run/okome/skipped}/sysctl
check_only=0
[ "${1:-}" = --check ] && check_only=1

in_container() { systemd-detect-virt --container --quiet; }
proc_path() { echo "/proc/sys/${1//.//}"; }

declare -a names=() values=() skips=()
# No file (the set was removed): nothing to apply; the values stay live until the next boot.
[ -f "$conf" ] || exit 0
while IFS= read -r line; do
  line=${line%%#*}
  [[ $line =~ ^[[:space:]]*([a-z0-9_.]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]] || continue
  name=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
  # access(2) answers EROFS for a read-only /proc/sys, even to root.
  if in_container && [ ! -w "$(proc_path "$name")" ]; then
    skips+=("$name (the container shares the machine's kernel)")
    continue
  fi
  names+=("$name") values+=("$value")
done <"$conf"

if [ "$check_only" -eq 0 ]; then
  for i in "${!names[@]}"; do
    sysctl -q -w "${names[$i]}=${values[$i]}" >/dev/null
  done
  mkdir -p "$(dirname "$skipped")"
  if [ ${#skips[@]} -gt 0 ]; then printf '%s\n' "${skips[@]}" >"$skipped"; else rm -f "$skipped"; fi
fi

differ=()
for i in "${!names[@]}"; do
  # The kernel prints multi-value settings tab-separated; the file may use spaces.
  read -r -a live <<<"$(sysctl -n "${names[$i]}")"
  read -r -a want <<<"${values[$i]}"
  [ "${live[*]}" = "${want[*]}" ] || differ+=("${names[$i]} is ${live[*]}, want ${want[*]}")
done
if [ ${#differ[@]} -gt 0 ]; then
  printf 'okome-sysctl-apply: live value differs: %s\n' "${differ[@]}" >&2
  exit 1
fi
echo "okome-sysctl-apply: ${#names[@]} settings live, ${#skips[@]} skipped"
