#!/usr/bin/env bash
# okome-validate: checks the running tier with curl and redis-cli only, from a node or any LAN
# machine: the VIP holder and that the pair agrees, each edge's headers and a HIT, stale-on-down,
# Redis auth and the edges' health keys, the exporters. Read-only: it breaks nothing, and the
# only keys it touches are the ones a cacheable GET puts in the edge cache.
#   okome-validate     prints "PASS <check>" or "FAIL <check>: <why>" a line, then a summary
# Settings: ${OKOME_VALIDATE_ENV:-/etc/okome/validate.env} (written by okome-cache, root only: it
# holds the monitor's password) when readable; any OKOME_* variable already in the environment
# wins over the file, so a LAN machine passes them all as variables.
# Exits 0 when every check passes, 1 when one fails, 2 when a setting is missing or wrong.
# Installed by okome-cache on both nodes as /usr/local/sbin/okome-validate.
set -euo pipefail
me=okome-validate
settings=(OKOME_VIP OKOME_EDGE_NODE OKOME_EDGE_ADDRESS OKOME_MODEL_NODE OKOME_MODEL_ADDRESS
  OKOME_EDGE_PORT OKOME_CACHEABLE_PATH OKOME_NODE_EXPORTER_PORT OKOME_NGINX_EXPORTER_PORT
  OKOME_REDIS_HOST OKOME_REDIS_PORT OKOME_REDIS_EXPORTER_PORT OKOME_REDIS_MONITOR_USER
  OKOME_REDIS_MONITOR_PASSWORD OKOME_REDIS_KEYS_USER OKOME_REDIS_KEYS_PASSWORD OKOME_ORCHESTRATOR)
env_file=${OKOME_VALIDATE_ENV:-/etc/okome/validate.env}
if [ -r "$env_file" ]; then
  declare -A given=()
  for name in "${settings[@]}"; do [ -z "${!name+set}" ] || given[$name]=${!name}; done
  # shellcheck source=/dev/null
  . "$env_file"
  for name in "${!given[@]}"; do printf -v "$name" %s "${given[$name]}"; done
fi

bad=()
want() { [[ ${!1:-} =~ $2 ]] || bad+=("$1='${!1:-}' is not $3"); }
ip4='^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' port='^[1-9][0-9]*$' name='^[A-Za-z0-9._-]+$'
want OKOME_VIP "$ip4" "an IPv4 address"
want OKOME_EDGE_NODE "$name" "a node name"
want OKOME_EDGE_ADDRESS "$ip4" "an IPv4 address"
want OKOME_MODEL_NODE "$name" "a node name"
want OKOME_MODEL_ADDRESS "$ip4" "an IPv4 address"
want OKOME_REDIS_HOST "$ip4" "an IPv4 address"
for p in OKOME_EDGE_PORT OKOME_NODE_EXPORTER_PORT OKOME_NGINX_EXPORTER_PORT OKOME_REDIS_PORT \
  OKOME_REDIS_EXPORTER_PORT; do
  want "$p" "$port" "a port"
done
want OKOME_CACHEABLE_PATH '^/[^[:space:]]*$' "a URL path"
want OKOME_REDIS_MONITOR_USER '^[^[:space:]]+$' "a user name"
want OKOME_REDIS_MONITOR_PASSWORD '.' "set"
want OKOME_ORCHESTRATOR '^[0-9.]+:[1-9][0-9]*$' "an address:port"
if [ ${#bad[@]} -gt 0 ]; then
  printf '%s\n' "${bad[@]/#/$me: }" >&2
  exit 2
fi

passed=0 failed=0
pass() {
  echo "PASS $1"
  passed=$((passed + 1))
}
fail() {
  echo "FAIL $1: $2"
  failed=$((failed + 1))
}

# Headers of a GET (lowercase names, no CR), or empty when nothing answered.
headers() { curl -sS -o /dev/null -D - --max-time 5 "$1" 2>/dev/null | tr -d '\r' | tr '[:upper:]' '[:lower:]' || true; }
header() { sed -n "s/^$1: //p" <<<"$2" | head -n 1; }
status_of() { sed -n 's/^http\/[0-9.]* \([0-9]*\).*/\1/p' <<<"$1" | head -n 1; }
# A sample's value from a /metrics page: metric $1 whose labels include $2.
# Empty when the sample is missing (an exporter down): that is a FAIL line, never the end of the run.
sample() { { grep -E "^$1(\{[^}]*$2[^}]*\})? " <<<"$3" || true; } | head -n 1 | awk '{ print $2 }'; }
metrics() { curl -sS --max-time 5 "http://$1:$2/metrics" 2>/dev/null || true; }
redis() { timeout 5 redis-cli --no-auth-warning -h "$OKOME_REDIS_HOST" -p "$OKOME_REDIS_PORT" "$@" 2>&1 </dev/null || true; }

nodes=("$OKOME_EDGE_NODE" "$OKOME_MODEL_NODE")
declare -A address=([$OKOME_EDGE_NODE]=$OKOME_EDGE_ADDRESS [$OKOME_MODEL_NODE]=$OKOME_MODEL_ADDRESS)
declare -A node_metrics=()
for n in "${nodes[@]}"; do node_metrics[$n]=$(metrics "${address[$n]}" "$OKOME_NODE_EXPORTER_PORT"); done

# The VIP: who answers through it, and whether both nodes' keepalived say the same.
vip=$(headers "http://$OKOME_VIP:$OKOME_EDGE_PORT/__okome/health")
holder=$(header x-okome-node "$vip")
if [ "$(status_of "$vip")" = 200 ] && [ -n "$holder" ]; then
  pass "vip-holder: $OKOME_VIP answers from $holder"
else
  fail vip-holder "$OKOME_VIP:$OKOME_EDGE_PORT answered '$(status_of "$vip")' with X-OKOME-Node '$holder'"
fi
masters=() seen=()
for n in "${nodes[@]}"; do
  state=$(sample okome_vip_state "node=\"$n\"" "${node_metrics[$n]}")
  case $state in 1) masters+=("$n") ;; esac
  seen+=("$n=${state:-none}")
done
if [ ${#masters[@]} -eq 1 ] && [ "${masters[0]}" = "$holder" ]; then
  pass "vip-pair-agrees: $holder is the one MASTER (okome_vip_state ${seen[*]})"
else
  fail vip-pair-agrees "okome_vip_state ${seen[*]} (1 is MASTER), the VIP answers from '${holder:-nobody}'"
fi

# Each edge: its headers, then a HIT on the second GET; while its probe says the upstream is
# DOWN, a cached page must still come (STALE), which the same GETs show.
for n in "${nodes[@]}"; do
  url="http://${address[$n]}:$OKOME_EDGE_PORT$OKOME_CACHEABLE_PATH"
  first=$(headers "$url")
  second=$(headers "$url")
  missing=()
  for h in x-cache-status x-okome-node x-upstream x-request-id; do
    [ -n "$(header "$h" "$first")" ] || missing+=("$h")
  done
  if [ "$(status_of "$first")" != 200 ]; then
    fail "edge-headers $n" "$url answered '$(status_of "$first")'"
  elif [ ${#missing[@]} -gt 0 ]; then
    fail "edge-headers $n" "$url has no ${missing[*]}"
  elif [ "$(header x-okome-node "$first")" != "$n" ]; then
    fail "edge-headers $n" "X-OKOME-Node is '$(header x-okome-node "$first")'"
  else
    pass "edge-headers $n"
  fi
  cache=$(header x-cache-status "$second")
  up=$(sample okome_health_upstream_up "node=\"$n\"" "${node_metrics[$n]}")
  case $up:$cache in
  1:hit) pass "edge-hit $n: the second GET of $OKOME_CACHEABLE_PATH was a HIT" ;;
  0:stale | 0:hit) pass "edge-hit $n: upstream DOWN, $OKOME_CACHEABLE_PATH served from the cache (${cache^^})" ;;
  *) fail "edge-hit $n" "the second GET of $OKOME_CACHEABLE_PATH was '${cache^^}' with okome_health_upstream_up '${up:-none}'" ;;
  esac
  case $up in
  1) pass "stale-on-down $n: the health probe says the upstream $OKOME_ORCHESTRATOR is UP" ;;
  0) if [ "$cache" = stale ] || [ "$cache" = hit ]; then
    pass "stale-on-down $n: the upstream $OKOME_ORCHESTRATOR is DOWN and cached pages are served"
  else
    fail "stale-on-down $n" "the upstream $OKOME_ORCHESTRATOR is DOWN and $OKOME_CACHEABLE_PATH was '${cache^^}'"
  fi ;;
  *) fail "stale-on-down $n" "no okome_health_upstream_up for $n on its node exporter" ;;
  esac
done

# Redis: the monitor is refused without its password and answers with it.
refused=$(redis --user "$OKOME_REDIS_MONITOR_USER" PING)
if [[ $refused =~ NOAUTH|WRONGPASS|NOPERM ]]; then
  pass "redis-auth-refused: without a password: ${refused//$'\n'/ }"
else
  fail redis-auth-refused "the monitor user without a password got '${refused//$'\n'/ }'"
fi
pong=$(REDISCLI_AUTH=$OKOME_REDIS_MONITOR_PASSWORD redis --user "$OKOME_REDIS_MONITOR_USER" PING)
if [ "$pong" = PONG ]; then
  pass "redis-auth-monitor: $OKOME_REDIS_MONITOR_USER PING answers PONG"
else
  fail redis-auth-monitor "$OKOME_REDIS_MONITOR_USER PING at $OKOME_REDIS_HOST:$OKOME_REDIS_PORT got '${pong//$'\n'/ }'"
fi
# The monitor reads no keys: the health keys need a user that may (OKOME_REDIS_KEYS_USER, the
# health probes' user, which may SET and PTTL them and nothing else).
for n in "${nodes[@]}"; do
  key=okome:health:$n
  if [ -z "${OKOME_REDIS_KEYS_USER:-}" ]; then
    fail "redis-health-key $n" "no OKOME_REDIS_KEYS_USER to read $key with"
    continue
  fi
  ttl=$(REDISCLI_AUTH=${OKOME_REDIS_KEYS_PASSWORD:-} redis --user "$OKOME_REDIS_KEYS_USER" PTTL "$key")
  if [[ $ttl =~ ^[1-9][0-9]*$ ]]; then
    pass "redis-health-key $n: $key expires in ${ttl} ms"
  else
    fail "redis-health-key $n" "PTTL $key is '${ttl//$'\n'/ }' (-2: no key, the probe has not written it)"
  fi
done

# The exporters, each by a sample that says it reads what it exports.
for n in "${nodes[@]}"; do
  if [ -n "$(sample node_exporter_build_info '' "${node_metrics[$n]}")" ]; then
    pass "exporter-node $n"
  else
    fail "exporter-node $n" "http://${address[$n]}:$OKOME_NODE_EXPORTER_PORT/metrics has no node_exporter_build_info"
  fi
  if [ "$(sample nginx_up '' "$(metrics "${address[$n]}" "$OKOME_NGINX_EXPORTER_PORT")")" = 1 ]; then
    pass "exporter-nginx $n"
  else
    fail "exporter-nginx $n" "http://${address[$n]}:$OKOME_NGINX_EXPORTER_PORT/metrics has no nginx_up 1"
  fi
done
if [ "$(sample redis_up '' "$(metrics "$OKOME_REDIS_HOST" "$OKOME_REDIS_EXPORTER_PORT")")" = 1 ]; then
  pass "exporter-redis"
else
  fail exporter-redis "http://$OKOME_REDIS_HOST:$OKOME_REDIS_EXPORTER_PORT/metrics has no redis_up 1"
fi

echo "$me: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
