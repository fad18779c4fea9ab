#!/usr/bin/env bash
# okome-health-probe: probes the orchestrator's health URL and points nginx at the orchestrator
# (UP) or at the maintenance page (DOWN), with hysteresis: OKOME_FALL failed probes in a row take
# it DOWN, OKOME_RISE good ones bring it back UP. nginx is reloaded on a state change only.
#   okome-health-probe         probe once (okome-health-probe.timer runs it every 5 s)
#   okome-health-probe --init  write the UP state file if there is none; no probe, no reload
#                              (the first deploy needs it before nginx -t)
# Settings: ${OKOME_HEALTH_ENV:-/etc/okome/edge-health.env}, written by okome-cache. Every probe
# also writes node exporter textfile metrics and, when OKOME_HEALTH_REDIS_HOST is set, the key
# okome:health:<node>; Redis being down is a warning and never changes the nginx state.
# Exits 0 after a probe whatever the upstream answered: the state is the result. Exits 1 when a
# setting is wrong, or nginx -t refused the new state file (the previous one is back, no reload),
# or the reload failed.
# Installed by okome-cache on the edge node as /usr/local/sbin/okome-health-probe.
set -euo pipefail
umask 022
me=okome-health-probe
env_file=${OKOME_HEALTH_ENV:-/etc/okome/edge-health.env}
[ -r "$env_file" ] || {
  echo "$me: cannot read $env_file" >&2
  exit 1
}
# shellcheck source=/dev/null
. "$env_file"

bad=()
want() { [[ ${!1:-} =~ $2 ]] || bad+=("$1='${!1:-}' is not $3"); }
want OKOME_STATE_FILE '^/' "an absolute path"
if [ "${1:-}" != --init ]; then
  # The node name goes unescaped into a metric label, a Redis key and JSON.
  want OKOME_NODE '^[A-Za-z0-9._-]+$' "a node name"
  want OKOME_UPSTREAM_URL '^https?://' "an http(s) URL"
  want OKOME_PROBE_TIMEOUT '^[0-9]*[1-9][0-9]*(\.[0-9]+)?$|^[0-9]*\.[0-9]*[1-9][0-9]*$' "a number of seconds > 0"
  want OKOME_FALL '^[1-9][0-9]*$' "a count >= 1"
  want OKOME_RISE '^[1-9][0-9]*$' "a count >= 1"
  want OKOME_STATE_DIR '^/' "an absolute path"
  want OKOME_TEXTFILE_DIR '^/' "an absolute path"
  if [ -n "${OKOME_HEALTH_REDIS_HOST:-}" ]; then
    want OKOME_HEALTH_REDIS_PORT '^[1-9][0-9]*$' "a port"
    want OKOME_HEALTH_REDIS_USER '^[^[:space:]]+$' "a user name"
    want OKOME_HEALTH_REDIS_PASSWORD_FILE '^/' "an absolute path"
    want OKOME_HEALTH_TTL '^[1-9][0-9]*$' "a number of seconds >= 1"
  fi
fi
if [ ${#bad[@]} -gt 0 ]; then
  printf '%s\n' "${bad[@]/#/$me: $env_file: }" >&2
  exit 1
fi

state_file=$OKOME_STATE_FILE
state_file_dir=$(dirname "$state_file")
temps=()
trap 'rm -f "${temps[@]}"' EXIT

# What nginx includes in the server block for each state. No timestamp: the same state is the
# same bytes, so a rewrite of the same state is no change.
# shellcheck disable=SC2016 # $okome_upstream_pool is nginx's variable
state_content() {
  case $1 in
  UP) printf '%s\n' '# okome-health-probe: the upstream is UP. Written on a state change only.' \
    'set $okome_upstream_pool okome_orchestrator;' ;;
  DOWN) printf '%s\n' '# okome-health-probe: the upstream is DOWN: cached pages are served stale, others get the maintenance page.' \
    'set $okome_upstream_pool okome_maintenance;' ;;
  esac
}

# Atomically: nginx never reads a half-written file. Temp names start with a dot, which an
# include glob does not match.
write_state() {
  mkdir -p "$state_file_dir"
  local tmp
  tmp=$(mktemp "$state_file_dir/.$(basename "$state_file").XXXXXX")
  temps+=("$tmp")
  state_content "$1" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$state_file"
}

if [ "${1:-}" = --init ]; then
  [ -e "$state_file" ] || write_state UP
  exit 0
fi

now=$EPOCHSECONDS
node=$OKOME_NODE
url=$OKOME_UPSTREAM_URL
install -d -m 0700 "$OKOME_STATE_DIR"
mkdir -p "$OKOME_TEXTFILE_DIR"
# An operator's run by hand waits for the timer's, so no probe is counted twice.
exec 9>"$OKOME_STATE_DIR/lock"
flock -w 30 9 || {
  echo "$me: $node: another probe has held $OKOME_STATE_DIR/lock for 30 s" >&2
  exit 1
}

# Counters: one "key=value" a line. Missing (first run, or wiped): the state file says which
# state nginx is in, UP when there is none.
counters=$OKOME_STATE_DIR/counters
state='' fails=0 rises=0 transitions=0 since=''
if [ -f "$counters" ]; then
  while IFS='=' read -r key value; do
    case $key in
    state) if [[ $value =~ ^(UP|DOWN)$ ]]; then state=$value; fi ;;
    fails | rises | transitions | since) if [[ $value =~ ^[0-9]+$ ]]; then printf -v "$key" %s "$value"; fi ;;
    esac
  done <"$counters"
fi
if [ -z "$state" ]; then
  state=UP
  if [ -f "$state_file" ] && cmp -s "$state_file" <(state_content DOWN); then state=DOWN; fi
fi
if [ -z "$since" ]; then
  since=$now
  if [ -f "$state_file" ]; then since=$(stat -c %Y "$state_file"); fi
fi

# A redirect is not a healthy answer: -L with no redirects allowed makes it an error.
start=$EPOCHREALTIME
if error=$(curl -fsS -L --max-redirs 0 -o /dev/null --max-time "$OKOME_PROBE_TIMEOUT" "$url" 2>&1); then
  ok=1
else
  ok=0
fi
# Microseconds; the locale decides the decimal separator.
elapsed_us=$((10#${EPOCHREALTIME//[!0-9]/} - 10#${start//[!0-9]/}))
printf -v duration '%d.%03d' $((elapsed_us / 1000000)) $((elapsed_us % 1000000 / 1000))

# Capped at the threshold: then a steady state rewrites nothing on the SD card.
if [ "$ok" = 1 ]; then
  fails=0 rises=$((rises < OKOME_RISE ? rises + 1 : rises))
else
  rises=0 fails=$((fails < OKOME_FALL ? fails + 1 : fails))
fi
target=$state
if [ "$state" = UP ] && [ "$fails" -ge "$OKOME_FALL" ]; then
  target=DOWN
elif [ "$state" = DOWN ] && [ "$rises" -ge "$OKOME_RISE" ]; then
  target=UP
fi

status=0 refused=0
# Puts the file of state $1 in place and reloads nginx, saying $2 why. When nginx -t refuses it,
# the previous file (or none) is put back, nginx is not reloaded, and refused is set. Not called
# as a condition, so set -e still stops it on anything else (a full disk) before the rename.
install_state() {
  local backup='' output
  if [ -e "$state_file" ]; then
    backup=$(mktemp "$state_file_dir/.$(basename "$state_file").old.XXXXXX")
    temps+=("$backup")
    cp -p "$state_file" "$backup"
  fi
  write_state "$1"
  if ! output=$(nginx -t -q 2>&1); then
    if [ -n "$backup" ]; then mv -f "$backup" "$state_file"; else rm -f "$state_file"; fi
    echo "$me: $node: nginx -t refuses $state_file for $1, so the previous one is back and nginx is not reloaded: $output" >&2
    refused=1 status=1
    return
  fi
  echo "$me: $node: $2: reloading nginx"
  # nginx -t passed: the file stays, nginx reads it when it next starts.
  if ! output=$(systemctl reload nginx 2>&1); then
    echo "$me: $node: systemctl reload nginx failed: $output" >&2
    status=1
  fi
}

if [ "$target" != "$state" ]; then
  if [ "$target" = DOWN ]; then
    install_state DOWN "upstream DOWN after $fails failed probes of $url ($error)"
  else
    install_state UP "upstream UP after $rises good probes of $url"
  fi
  if [ "$refused" = 0 ]; then state=$target since=$now transitions=$((transitions + 1)); fi
elif ! cmp -s "$state_file" <(state_content "$state") 2>/dev/null; then
  install_state "$state" "$state_file did not hold the $state state (edited or removed by hand), rewritten"
fi

printf -v counted '%s\n' "state=$state" "fails=$fails" "rises=$rises" "transitions=$transitions" "since=$since"
if ! cmp -s "$counters" <(printf %s "$counted") 2>/dev/null; then
  printf %s "$counted" >"$counters.new"
  mv -f "$counters.new" "$counters"
fi

up=0
[ "$state" = DOWN ] || up=1
prom=$OKOME_TEXTFILE_DIR/okome_health.prom
temps+=("$prom.$$")
label="{node=\"$node\"}"
cat >"$prom.$$" <<EOF
# HELP okome_health_upstream_up 1 while nginx sends requests to the orchestrator, 0 while to the maintenance page (after hysteresis).
# TYPE okome_health_upstream_up gauge
okome_health_upstream_up$label $up
# HELP okome_health_transitions_total State changes nginx was reloaded for.
# TYPE okome_health_transitions_total counter
okome_health_transitions_total$label $transitions
# HELP okome_health_last_change_timestamp_seconds When the state last changed.
# TYPE okome_health_last_change_timestamp_seconds gauge
okome_health_last_change_timestamp_seconds$label $since
# HELP okome_health_probe_success 1 when the last probe got a 2xx answer.
# TYPE okome_health_probe_success gauge
okome_health_probe_success$label $ok
# HELP okome_health_probe_duration_seconds How long the last probe took.
# TYPE okome_health_probe_duration_seconds gauge
okome_health_probe_duration_seconds$label $duration
EOF
mv -f "$prom.$$" "$prom"

if [ -n "${OKOME_HEALTH_REDIS_HOST:-}" ]; then
  key=okome:health:$node
  printf -v value '{"node":"%s","upstream":"%s","since":%d,"checked":%d}' \
    "$node" "${state,,}" "$since" "$now"
  # The password goes through the environment: ps shows argv to every user. SET is all the ACL
  # user may run. The timeout keeps a host that drops packets from holding up the next probe.
  # shellcheck disable=SC2153 # the env file sets OKOME_HEALTH_REDIS_PORT
  if ! output=$(
    REDISCLI_AUTH="$(cat "$OKOME_HEALTH_REDIS_PASSWORD_FILE")" timeout 2 \
      redis-cli --no-auth-warning -e -h "$OKOME_HEALTH_REDIS_HOST" -p "$OKOME_HEALTH_REDIS_PORT" \
      --user "$OKOME_HEALTH_REDIS_USER" SET "$key" "$value" EX "$OKOME_HEALTH_TTL" 2>&1 </dev/null
  ); then
    echo "$me: $node: warning: $key not written to Redis at $OKOME_HEALTH_REDIS_HOST:$OKOME_HEALTH_REDIS_PORT (the nginx state does not depend on it): ${output:-timed out}" >&2
  fi
fi
exit "$status"
