#!/usr/bin/env bash
# Times the toolchain bootstrap (Node 22 + Pulumi built from Go modules) as a fresh machine sees
# it: once cold, in a throw-away HOME with empty Go caches, then warm (median of 5), and reports
# the disk it used. Needs only the module and npm registries; ~5 minutes on 2 cores.
#   bash bench/bootstrap-times.sh
set -euo pipefail
cd "$(dirname "$0")/.."

home=$(mktemp -d /tmp/okome-bootstrap-bench.XXXXXX)
trap 'chmod -R u+w "$home" 2>/dev/null; rm -rf "$home"' EXIT
# Everything the bootstrap writes follows HOME: ~/.okome, the Go caches, npm's cache. With a new
# enough official pulumi on PATH the bootstrap builds only the command plugin stand-in, and the
# cold time shows that.
export HOME=$home GOPATH=$home/go GOCACHE=$home/.cache/go-build
unset OKOME_HOME PULUMI_HOME PULUMI_BACKEND_URL OKOME_TOOLCHAIN_PREBUILT

bootstrap() { bash scripts/bootstrap-node.sh && bash scripts/bootstrap-pulumi.sh; }
seconds() {
  local t0 ms
  t0=$(date +%s%N)
  bootstrap >"$home/last.log" 2>&1 || {
    cat "$home/last.log" >&2
    exit 1
  }
  ms=$((($(date +%s%N) - t0) / 1000000))
  printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

cold=$(seconds)
warm=()
for _ in 1 2 3 4 5; do warm+=("$(seconds)"); done
median=$(printf '%s\n' "${warm[@]}" | sort -n | sed -n 3p)

printf 'bootstrap (bootstrap-node.sh + bootstrap-pulumi.sh)\n'
printf '  cold, empty HOME and Go caches   %8s s\n' "$cold"
printf '  warm, median of 5                %8s s   (runs: %s)\n' "$median" "${warm[*]}"
printf '  warm / cold                      %8s\n' "$(awk -v w="$median" -v c="$cold" 'BEGIN { printf "%.4f", w / c }')"
printf 'disk\n'
for d in .okome/toolchain .okome/pulumi-home .okome/node22 go/pkg/mod .cache/go-build; do
  printf '  ~/%-30s %8s\n' "$d" "$(du -sh "$home/$d" | cut -f1)"
done
