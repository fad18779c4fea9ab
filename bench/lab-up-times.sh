#!/usr/bin/env bash
# Times `lab up` for each driver with a cold image cache (golden image rebuilt) and a warm
# one, plus the golden image's size. Takes the lab down between runs. Root; ~10 minutes.
#   bash bench/lab-up-times.sh [nspawn|qemu ...]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lab/lib.sh
. lab/lib.sh
need_root

drivers=("$@")
[ ${#drivers[@]} -gt 0 ] || drivers=(nspawn qemu)

timed_up() {
  local t0 ms
  t0=$(date +%s%N)
  bash lab/lab.sh up --driver "$1" >/dev/null 2>"$LAB_HOME/bench-up.log" ||
    die "lab up --driver $1 failed, see $LAB_HOME/bench-up.log"
  ms=$((($(date +%s%N) - t0) / 1000000))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

bash lab/lab.sh down >/dev/null 2>&1
image=$(bash lab/lab.sh image 2>/dev/null)
printf '%-8s %-6s %8s\n' driver cache seconds
for driver in "${drivers[@]}"; do
  bash lab/lab.sh down >/dev/null 2>&1
  rm -rf "$image"
  seconds=$(timed_up "$driver")
  printf '%-8s %-6s %8s\n' "$driver" cold "$seconds"
  bash lab/lab.sh down >/dev/null 2>&1
  seconds=$(timed_up "$driver")
  printf '%-8s %-6s %8s\n' "$driver" warm "$seconds"
  bash lab/lab.sh down >/dev/null 2>&1
done
leftover=$(bash lab/status.sh --leftovers)
[ -z "$leftover" ] || die "lab down left: $leftover"
jq -r '"image \(.hash): rootfs \(.rootfsBytes / 1048576 | floor) MiB, disk.raw allocated \(.diskAllocatedBytes / 1048576 | floor) MiB, built in \(.buildSeconds)s"' "$image/manifest.json"
echo "image directory on disk: $(du -sh "$image" | cut -f1)"
