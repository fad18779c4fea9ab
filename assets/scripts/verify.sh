#!/usr/bin/env bash
# okome-verify: checks the edge node from the node itself, for an operator without Node: nginx,
# its cache, the health state, the status page, the exporter, and the probe's and pre-warm's
# timers.
#   okome-verify
# Prints "PASS <check>" or "FAIL <check>: <why>" for each check; exits 1 when any failed.
# Settings: ${OKOME_VERIFY_ENV:-/etc/okome/edge-verify.env}, written by okome-cache.
# Installed by okome-cache on the edge node as /usr/local/sbin/okome-verify.
set -euo pipefail
me=okome-verify
env_file=${OKOME_VERIFY_ENV:-/etc/okome/edge-verify.env}
[ -r "$env_file" ] || {
  echo "$me: cannot read $env_file" >&2
  exit 1
}
# shellcheck source=/dev/null
. "$env_file"
missing=()
for name in OKOME_NODE OKOME_EDGE_URL OKOME_STATUS_URL OKOME_EXPORTER_URL OKOME_HEALTH_URL \
  OKOME_STATE_FILE OKOME_PROBE_PATH; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "$me: $env_file does not set ${missing[*]}" >&2
  exit 1
fi

failed=0
pass() { echo "PASS $1"; }
fail() {
  echo "FAIL $1: $2"
  failed=1
}
# No check may hang the operator's terminal.
get() { curl -sS --max-time 5 "$@" 2>&1; }
# The value of header $1 in the response head $2; names match in any case, as in HTTP.
header() {
  local line
  while IFS= read -r line; do
    line=${line%$'\r'}
    if [[ ${line,,} == "${1,,}:"* ]]; then
      line=${line#*:}
      echo "${line# }"
      return
    fi
  done <<<"$2"
}

if systemctl is-active --quiet nginx; then
  pass "nginx is active"
else
  fail "nginx is active" "systemctl is-active nginx says $(systemctl is-active nginx || true)"
fi
if output=$(nginx -t -q 2>&1); then
  pass "nginx -t"
else
  fail "nginx -t" "${output//$'\n'/ }"
fi

state=''
pool=$(sed -En 's/^\s*set\s+[$]okome_upstream_pool\s+([a-z_]+);.*/\1/p' "$OKOME_STATE_FILE" 2>/dev/null ||
  true)
case $pool in
okome_orchestrator) state=UP ;;
okome_maintenance) state=DOWN ;;
esac
if [ -n "$state" ]; then
  pass "health state: $state"
elif [ -f "$OKOME_STATE_FILE" ]; then
  fail "health state" "$OKOME_STATE_FILE sets neither okome_orchestrator nor okome_maintenance"
else
  fail "health state" "$OKOME_STATE_FILE is missing"
fi

if output=$(get -o /dev/null -w '%{http_code}' "$OKOME_HEALTH_URL") && [ "$output" = 200 ]; then
  pass "health location answers 200"
else
  fail "health location answers 200" "$OKOME_HEALTH_URL: ${output//$'\n'/ }"
fi

# The first GET fills the cache, the second must come from it. While DOWN, nginx serves an
# expired page stale instead of asking the orchestrator.
url=$OKOME_EDGE_URL$OKOME_PROBE_PATH
accept=(HIT)
[ "$state" != DOWN ] || accept=(HIT STALE)
if output=$(get -o /dev/null "$url") && output=$(get -D - -o /dev/null "$url"); then
  cache_status=$(header X-Cache-Status "$output")
  if [ -n "$cache_status" ] && [[ " ${accept[*]} " == *" $cache_status "* ]]; then
    pass "second GET $OKOME_PROBE_PATH is a cache $cache_status"
  else
    status_line=$(head -n1 <<<"$output")
    want=${accept[*]}
    fail "second GET $OKOME_PROBE_PATH is a cache ${want/ / or }" \
      "X-Cache-Status is '$cache_status' (${status_line%$'\r'})"
  fi
  node=$(header X-OKOME-Node "$output")
  if [ "$node" = "$OKOME_NODE" ]; then
    pass "header X-OKOME-Node"
  else
    fail "header X-OKOME-Node" "'$node', want '$OKOME_NODE'"
  fi
  for name in X-Request-ID X-Upstream; do
    if [ -n "$(header "$name" "$output")" ]; then pass "header $name"; else fail "header $name" missing; fi
  done
else
  fail "GET $OKOME_PROBE_PATH twice" "$url: $(tail -n1 <<<"$output")"
fi

if output=$(get "$OKOME_STATUS_URL") && [[ $output == *"Active connections"* ]]; then
  pass "status page"
else
  fail "status page" "no 'Active connections' from $OKOME_STATUS_URL: $(head -n1 <<<"$output")"
fi

if output=$(get "$OKOME_EXPORTER_URL") && grep -qx 'nginx_up 1' <<<"$output"; then
  pass "exporter: nginx_up 1"
else
  found=$(grep -m1 '^nginx_up ' <<<"$output" || head -n1 <<<"$output")
  fail "exporter: nginx_up 1" "$OKOME_EXPORTER_URL: ${found:-no nginx_up}"
fi

for timer in okome-health-probe.timer okome-prewarm.timer; do
  if systemctl is-active --quiet "$timer"; then
    pass "$timer is active"
  else
    fail "$timer is active" "systemctl is-active says $(systemctl is-active "$timer" || true)"
  fi
done
exit "$failed"
