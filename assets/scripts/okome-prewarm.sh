#!/usr/bin/env bash
# okome-prewarm: keeps the edge cache warm. Takes the OKOME_PREWARM_TOP most requested URIs of the
# last OKOME_PREWARM_WINDOW s of nginx's JSON access log (GET, status 200, its own requests left
# out), publishes that list to OKOME_PREWARM_PUBLISH_FILE for the LAN, and requests each URI
# through the local nginx, one after another, within OKOME_PREWARM_BUDGET s.
# On the standby edge OKOME_PREWARM_SOURCE_URL is the primary's published list: the standby warms
# and publishes that one, so its cache holds what the primary's clients ask for when the VIP
# moves. When the list cannot be fetched it warns and takes the top of its own log.
#   okome-prewarm    one run (okome-prewarm.timer runs it every 2 minutes)
# Settings: ${OKOME_PREWARM_ENV:-/etc/okome/edge-prewarm.env}, sourced. Every run writes node
# exporter textfile metrics. Nothing is warmed unless the health state file says UP: while DOWN the
# requests would get the maintenance page, not the orchestrator's answers.
# Exits 0 after a run, however many requests failed (they are counted); 1 when a setting is wrong
# or another run held the lock too long.
# Installed by okome-cache on the edge node as /usr/local/sbin/okome-prewarm.
set -euo pipefail
# nginx-log.jq: /usr/local/lib/okome on the node, assets/lib/okome in the repo.
jq_lib=$(dirname "$(readlink -f "$0")")/../lib/okome
umask 022
me=okome-prewarm
env_file=${OKOME_PREWARM_ENV:-/etc/okome/edge-prewarm.env}
[ -r "$env_file" ] || {
  echo "$me: cannot read $env_file" >&2
  exit 1
}
# shellcheck source=/dev/null
. "$env_file"

bad=()
want() { [[ ${!1:-} =~ $2 ]] || bad+=("$1='${!1:-}' is not $3"); }
seconds='^[0-9]*[1-9][0-9]*(\.[0-9]+)?$|^[0-9]*\.[0-9]*[1-9][0-9]*$'
# The node name goes unescaped into a metric label.
want OKOME_NODE '^[A-Za-z0-9._-]+$' "a node name"
want OKOME_ACCESS_LOG '^/' "an absolute path"
want OKOME_PREWARM_TOP '^[1-9][0-9]*$' "a count >= 1"
want OKOME_PREWARM_WINDOW '^[1-9][0-9]*$' "a number of seconds >= 1"
# The URIs are appended to it as they are.
want OKOME_PREWARM_BASE_URL '^https?://[^/[:space:]]+$' "an http(s) URL with no path"
want OKOME_PREWARM_USER_AGENT '^[^[:cntrl:]]+$' "a user agent"
want OKOME_PREWARM_TIMEOUT "$seconds" "a number of seconds > 0"
want OKOME_PREWARM_BUDGET "$seconds" "a number of seconds > 0"
want OKOME_STATE_FILE '^/' "an absolute path"
want OKOME_TEXTFILE_DIR '^/' "an absolute path"
want OKOME_PREWARM_PUBLISH_FILE '^/.*[^/]$' "an absolute file path"
want OKOME_PREWARM_SOURCE_URL '^(https?://[^[:space:]]+)?$' "empty (the primary) or an http(s) URL"
if [ ${#bad[@]} -gt 0 ]; then
  printf '%s\n' "${bad[@]/#/$me: $env_file: }" >&2
  exit 1
fi

node=$OKOME_NODE
log=$OKOME_ACCESS_LOG
ua=$OKOME_PREWARM_USER_AGENT
budget=$OKOME_PREWARM_BUDGET
state_file=$OKOME_STATE_FILE
publish=$OKOME_PREWARM_PUBLISH_FILE
publish_dir=$(dirname "$publish")
source_url=${OKOME_PREWARM_SOURCE_URL:-}

# Seconds, as the settings write them, in microseconds: bash has no floating point.
micros() {
  local whole=${1%%.*} fraction=000000
  [[ $1 != *.* ]] || fraction=${1#*.}000000
  echo $((10#${whole:-0} * 1000000 + 10#${fraction:0:6}))
}
# $1 microseconds in seconds with $2 decimals.
decimal() { printf '%d.%0*d' $(($1 / 1000000)) "$2" $(($1 % 1000000 / 10 ** (6 - $2))); }
# Microseconds since the run started.
elapsed() { echo $((10#${EPOCHREALTIME//[!0-9]/} - start_us)); }
timeout_us=$(micros "$OKOME_PREWARM_TIMEOUT")
budget_us=$(micros "$budget")

mkdir -p "$publish_dir" "$OKOME_TEXTFILE_DIR"
# An operator's run by hand waits for the timer's, as long as one may take: the list's fetch, the
# budget, and time to read the log. The directory itself is locked: no lock file for nginx to serve.
lock_wait=$(((timeout_us + budget_us) / 1000000 + 30))
exec 9<"$publish_dir"
flock -w "$lock_wait" 9 || {
  echo "$me: $node: another run has held $publish_dir locked for $lock_wait s" >&2
  exit 1
}
start_us=$((10#${EPOCHREALTIME//[!0-9]/}))
temps=()
trap 'rm -f "${temps[@]}"' EXIT

# The log's URIs by requests in the window, most first, ties in lexical order, as JSON strings:
# a URI may hold an escaped newline, which must not make two lines. Lines that are not JSON log
# entries are skipped (okome-hit-ratio counts them).
# shellcheck disable=SC2016 # jq's own $variables
rank_program='
include "nginx-log";
reduce (inputs
  | try (fromjson
    | select(.method == "GET" and .status == 200 and .user_agent != $ua and (.time | epoch) >= $since)
    | .uri) catch null
  | strings) as $uri
  ({}; .[$uri] += 1)
| to_entries | sort_by(-.value, .key) | .[].key
'
# Candidates (JSON strings, best first) to the list: paths only, as curl must not read anything
# else into the URL; never more than $top. Prints the number dropped, then the list.
# shellcheck disable=SC2016 # jq's own $variables
accept_program='
reduce inputs as $uri ({dropped: 0, uris: []};
  if ($uri | test("^/[^\\s\\p{Cc}]*$")) then
    if (.uris | length) < $top then .uris += [$uri] else . end
  else .dropped += 1 end)
| .dropped, .uris[]
'
candidates=$(mktemp)
temps+=("$candidates")
from=$log
if [ -n "$source_url" ]; then
  fetched=$(mktemp)
  temps+=("$fetched")
  # With the pre-warm's user agent: wherever the primary logs the fetch, it is not a client's.
  if error=$(curl -fsS -A "$ua" --max-time "$OKOME_PREWARM_TIMEOUT" -o "$fetched" "$source_url" 2>&1); then
    from=$source_url
  else
    echo "$me: $node: warning: the top list of $source_url could not be fetched ($error), so the top of $log is warmed" >&2
  fi
fi
if [ "$from" = "$source_url" ]; then
  jq -Rc . "$fetched" >"$candidates"
elif [ -s "$log" ]; then
  jq -L "$jq_lib" -Rnc --argjson since $((EPOCHSECONDS - OKOME_PREWARM_WINDOW)) --arg ua "$ua" \
    "$rank_program" "$log" >"$candidates"
fi
accepted=$(jq -nr --argjson top "$OKOME_PREWARM_TOP" "$accept_program" "$candidates")
mapfile -t uris <<<"$accepted"
dropped=${uris[0]}
uris=("${uris[@]:1}")
[ "$dropped" -eq 0 ] ||
  echo "$me: $node: warning: $dropped URIs of $from dropped: not a path, or whitespace or control characters in it" >&2

# Atomically: the standby never reads a half-written list. Temp names start with a dot.
tmp=$(mktemp "$publish_dir/.$(basename "$publish").XXXXXX")
temps+=("$tmp")
if [ ${#uris[@]} -gt 0 ]; then printf '%s\n' "${uris[@]}"; fi >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$publish"

warmed=0 failed=0 left=0 down=0
if [ ! -e "$state_file" ]; then
  down=1
  echo "$me: $node: upstream DOWN: nothing warmed ($state_file is missing)"
elif ! grep -q 'okome_orchestrator;' "$state_file"; then
  down=1
  echo "$me: $node: upstream DOWN: nothing warmed"
else
  for i in "${!uris[@]}"; do
    remaining_us=$((budget_us - $(elapsed)))
    # Too little left for a request to get an answer.
    if [ "$remaining_us" -lt 100000 ]; then
      left=$((${#uris[@]} - i))
      break
    fi
    max_time=$(decimal $((remaining_us < timeout_us ? remaining_us : timeout_us)) 3)
    url=$OKOME_PREWARM_BASE_URL${uris[i]}
    # -g and --path-as-is: the URI reaches nginx as clients sent it ([] {} and /../ included), so
    # it is their cache key ($request_uri) that gets warmed.
    rc=0
    result=$(curl -s -g --path-as-is -o /dev/null -w '%{http_code} %{errormsg}' -A "$ua" \
      --max-time "$max_time" "$url") || rc=$?
    code=${result%% *}
    if [ "$rc" = 0 ] && [[ $code =~ ^(2[0-9][0-9]|304)$ ]]; then
      warmed=$((warmed + 1))
    else
      failed=$((failed + 1))
      if [ "$rc" = 0 ]; then reason="HTTP $code"; else reason="curl: ($rc) ${result#* }"; fi
      echo "$me: $node: warning: $url not warmed: $reason" >&2
    fi
  done
  echo "$me: $node: warmed $warmed of ${#uris[@]} URLs ($failed failed, $left left at the $budget s budget) in $(decimal "$(elapsed)" 2) s"
fi

duration=$(decimal "$(elapsed)" 3)
prom=$OKOME_TEXTFILE_DIR/okome_prewarm.prom
temps+=("$prom.$$")
label="{node=\"$node\"}"
cat >"$prom.$$" <<EOF
# HELP okome_prewarm_urls_warmed URLs the last run warmed (answered 2xx or 304).
# TYPE okome_prewarm_urls_warmed gauge
okome_prewarm_urls_warmed$label $warmed
# HELP okome_prewarm_failures URLs the last run requested without a 2xx or 304 answer in time.
# TYPE okome_prewarm_failures gauge
okome_prewarm_failures$label $failed
# HELP okome_prewarm_urls_left URLs of the last run's list not requested when its budget ran out.
# TYPE okome_prewarm_urls_left gauge
okome_prewarm_urls_left$label $left
# HELP okome_prewarm_duration_seconds How long the last run took.
# TYPE okome_prewarm_duration_seconds gauge
okome_prewarm_duration_seconds$label $duration
# HELP okome_prewarm_last_run_timestamp_seconds When the last run ended.
# TYPE okome_prewarm_last_run_timestamp_seconds gauge
okome_prewarm_last_run_timestamp_seconds$label $EPOCHSECONDS
# HELP okome_prewarm_upstream_down 1 when the last run warmed nothing because the upstream was DOWN.
# TYPE okome_prewarm_upstream_down gauge
okome_prewarm_upstream_down$label $down
EOF
mv -f "$prom.$$" "$prom"
