#!/usr/bin/env bash
# Cache HIT throughput and p99 latency of the okome edge config against a bare proxy_cache
# config, on the same lab host in the same run: what the okome config's headers, JSON log, maps
# and limit zones cost on a HIT. Goal: both ratios at least 0.85.
#   bash bench/edge-hit.sh [runs]   (default 5 runs of each, interleaved; median reported)
# Needs the lab up and deployed (the README's main command). The load comes from this machine
# (10.86.0.1, rateLimitExempt in Pulumi.lab.yaml: a load test is not the client the limits are
# for). The bare config runs as a second nginx on the edge host, on port 8088, stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lab/lib.sh
. lab/lib.sh
need_root
command -v wrk >/dev/null || die "wrk is not installed (bash scripts/install-system-packages.sh)"

runs=${1:-5}
seconds=${OKOME_BENCH_SECONDS:-5}
connections=${OKOME_BENCH_CONNECTIONS:-32}
edge=${LAB_ADDR[okome-edge]}
path=/assets/okome-bench.js
okome_url=http://$edge$path
bare_port=8088
bare_url=http://$edge:$bare_port$path
driver=$(jq -r .driver "$LAB_HOME/hosts.json" 2>/dev/null || echo unknown)

on_edge() { bash lab/ssh.sh okome-edge "$@"; }

curl -fsS -D - -o /dev/null "$okome_url" | grep -qi '^x-okome-node: okome-edge' ||
  die "$okome_url is not the okome edge: run the README's main command first"

# The bare config: what a minimal nginx cache in front of the orchestrator looks like, with the
# same workers, keepalive upstream and an access log (combined), so only okome's additions differ.
bare_conf=$(
  cat <<EOF
user www-data;
worker_processes auto;
pid /run/okome-bench-bare.pid;
error_log /var/log/nginx/okome-bench-bare-error.log warn;
events { worker_connections 1024; }
http {
    sendfile on;
    tcp_nopush on;
    proxy_cache_path /var/cache/nginx/okome-bench-bare levels=1:2 keys_zone=bare:8m max_size=64m;
    upstream orchestrator { server $LAB_ORCH_ADDR:$LAB_ORCH_PORT; keepalive 16; }
    access_log /var/log/nginx/okome-bench-bare-access.log;
    server {
        listen $bare_port;
        location / {
            proxy_pass http://orchestrator;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bare;
        }
    }
}
EOF
)
stop_bare() {
  on_edge "sudo -n sh -c 'if [ -f /run/okome-bench-bare.pid ]; then kill \$(cat /run/okome-bench-bare.pid); fi; \
    sleep 0.5; rm -rf /tmp/okome-bench-bare.conf /var/cache/nginx/okome-bench-bare /var/log/nginx/okome-bench-bare-*.log'" >/dev/null 2>&1 || true
}
trap stop_bare EXIT
stop_bare
printf '%s\n' "$bare_conf" | on_edge "sudo -n tee /tmp/okome-bench-bare.conf >/dev/null && sudo -n nginx -q -c /tmp/okome-bench-bare.conf"

for url in "$okome_url" "$bare_url"; do
  for _ in 1 2; do curl -fsS -o /dev/null "$url"; done
  status=$(curl -fsS -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache-status" { print $2 }')
  # The bare config sends no X-Cache-Status; its log would show the HIT, its throughput does too.
  [ "$url" = "$bare_url" ] || [ "$status" = HIT ] || die "$url is not a HIT after warming ($status)"
done

# One wrk run: "<requests/s> <p99 ms>".
measure() {
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "$1" | awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" {
      v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
      p99 = unit == "us" ? v / 1000 : unit == "s" ? v * 1000 : v
    }
    END { printf "%.0f %.3f\n", rps, p99 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "edge HIT benchmark: $runs runs of ${seconds}s each, $connections connections, lab driver $driver"
printf '%-4s %12s %10s %12s %10s\n' run okome_rps okome_p99 bare_rps bare_p99
okome_rps=() okome_p99=() bare_rps=() bare_p99=()
for run in $(seq 1 "$runs"); do
  # Interleaved, so drift on a shared machine hits both configs alike.
  read -r orps op99 < <(measure "$okome_url")
  read -r brps bp99 < <(measure "$bare_url")
  okome_rps+=("$orps") okome_p99+=("$op99") bare_rps+=("$brps") bare_p99+=("$bp99")
  printf '%-4s %12s %8sms %12s %8sms\n' "$run" "$orps" "$op99" "$brps" "$bp99"
done
m_orps=$(printf '%s\n' "${okome_rps[@]}" | median)
m_op99=$(printf '%s\n' "${okome_p99[@]}" | median)
m_brps=$(printf '%s\n' "${bare_rps[@]}" | median)
m_bp99=$(printf '%s\n' "${bare_p99[@]}" | median)
printf '%-4s %12s %8sms %12s %8sms\n' median "$m_orps" "$m_op99" "$m_brps" "$m_bp99"
awk -v orps="$m_orps" -v brps="$m_brps" -v op99="$m_op99" -v bp99="$m_bp99" 'BEGIN {
  throughput = orps / brps; latency = bp99 / op99
  printf "throughput ratio (okome / bare): %.2f (goal >= 0.85)\n", throughput
  printf "p99 ratio (bare / okome):        %.2f (goal >= 0.85)\n", latency
}'
