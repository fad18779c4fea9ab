#!/usr/bin/env bash
# okome-hit-ratio: how the edge cache did over the last few minutes, from nginx's JSON access log.
#   okome-hit-ratio [--window SECONDS] [--textfile]
#     --window    how far back to count, in seconds (default 300)
#     --textfile  also write $OKOME_TEXTFILE_DIR/okome_hit_ratio.prom for the node exporter
# Prints the requests per cache status and the hit ratio: (HIT+STALE+UPDATING+REVALIDATED) over
# the requests that went through the cache. NONE is a request without one (a 429, a status page).
# Lines that are not JSON log entries are skipped and counted, never fatal.
# jq reads the whole log on every run: fine on a Pi for the log on the /var/log tmpfs, which
# logrotate keeps to a few MB; right after a rotation the window sees only the new file.
# Installed by okome-cache on the edge node as /usr/local/sbin/okome-hit-ratio.
set -euo pipefail
# nginx-log.jq: /usr/local/lib/okome on the node, assets/lib/okome in the repo.
jq_lib=$(dirname "$(readlink -f "$0")")/../lib/okome
umask 022
me=okome-hit-ratio
log=${OKOME_ACCESS_LOG:-/var/log/nginx/okome-access.log}
textfile_dir=${OKOME_TEXTFILE_DIR:-/run/okome/textfile}
node=${OKOME_NODE:-$(hostname)}
usage="usage: $me [--window SECONDS] [--textfile]"

window=300 textfile=0
while [ $# -gt 0 ]; do
  case $1 in
  --window)
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || {
      echo "$me: --window takes a number of seconds >= 1; $usage" >&2
      exit 2
    }
    window=$2
    shift 2
    ;;
  --textfile)
    textfile=1
    shift
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
  esac
done

# Statuses in the order nginx's documentation lists them; those counted as hits.
order=(HIT MISS EXPIRED STALE UPDATING REVALIDATED BYPASS NONE)
hit_statuses=(HIT STALE UPDATING REVALIDATED)
hit_sum=$(
  IFS=+
  echo "${hit_statuses[*]}"
)

# Prints "skipped<TAB>n", then "<status><TAB>n" for each status seen in the window.
# shellcheck disable=SC2016 # jq's own $variables
count_program='
include "nginx-log";
def status:
  if . == null or . == "" or . == "-" then "NONE"
  elif type == "string" and test("^[A-Z]+$") then .
  else "OTHER" end;
reduce (inputs | try (fromjson | {t: (.time | epoch), s: (.cache | status)}) catch null) as $r
  ({skipped: 0, counts: {}};
   if $r == null then .skipped += 1
   elif $r.t >= $since then .counts[$r.s] += 1
   else . end)
| "skipped\t\(.skipped)", (.counts | to_entries[] | "\(.key)\t\(.value)")
'
declare -A count=()
skipped=0
since=$(($(date +%s) - window))
if [ -s "$log" ]; then
  counted=$(jq -L "$jq_lib" -Rnr --argjson since "$since" "$count_program" "$log")
  while IFS=$'\t' read -r name n; do
    if [ "$name" = skipped ]; then skipped=$n; else count[$name]=$n; fi
  done <<<"$counted"
fi

statuses=()
for name in "${order[@]}"; do [ -z "${count[$name]:-}" ] || statuses+=("$name"); done
for name in "${!count[@]}"; do
  [[ " ${order[*]} " == *" $name "* ]] || statuses+=("$name")
done
total=0 hits=0
for name in "${statuses[@]}"; do total=$((total + count[$name])); done
for name in "${hit_statuses[@]}"; do hits=$((hits + ${count[$name]:-0})); done
cached=$((total - ${count[NONE]:-0}))
ratio=n/a
if [ "$cached" -gt 0 ]; then
  # Integer thousandths, rounded: bash has no floating point.
  thousandths=$(((hits * 1000 + cached / 2) / cached))
  printf -v ratio '%d.%03d' $((thousandths / 1000)) $((thousandths % 1000))
fi

if [ "$total" -eq 0 ]; then
  missing=''
  [ -e "$log" ] || missing=" ($log does not exist)"
  echo "$me: $node: no requests in the last $window s$missing"
else
  echo "$me: $node: $total requests in the last $window s, from $log"
  printf '%-12s %8s %7s\n' "cache status" requests share
  for name in "${statuses[@]}"; do
    permille=$(((count[$name] * 1000 + total / 2) / total))
    printf '%-12s %8d %5d.%d%%\n' "$name" "${count[$name]}" $((permille / 10)) $((permille % 10))
  done
  printf '%-12s %8d %7s\n' total "$total" 100.0%
  echo "hit ratio: $ratio ($hit_sum of $cached requests with a cache status)"
fi
[ "$skipped" -eq 0 ] || echo "$me: lines of $log skipped, not JSON log entries: $skipped"

if [ "$textfile" = 1 ]; then
  mkdir -p "$textfile_dir"
  prom=$textfile_dir/okome_hit_ratio.prom
  trap 'rm -f "$prom.$$"' EXIT
  {
    echo "# HELP okome_edge_requests Requests nginx logged in the window, by cache status (NONE: no cache involved)."
    echo "# TYPE okome_edge_requests gauge"
    for name in "${statuses[@]}"; do
      echo "okome_edge_requests{node=\"$node\",cache_status=\"$name\"} ${count[$name]}"
    done
    if [ "$ratio" != n/a ]; then
      echo "# HELP okome_edge_hit_ratio ($hit_sum) / requests with a cache status, in the window."
      echo "# TYPE okome_edge_hit_ratio gauge"
      echo "okome_edge_hit_ratio{node=\"$node\"} $ratio"
    fi
    echo "# HELP okome_edge_hit_ratio_window_seconds The window of okome_edge_requests and okome_edge_hit_ratio."
    echo "# TYPE okome_edge_hit_ratio_window_seconds gauge"
    echo "okome_edge_hit_ratio_window_seconds{node=\"$node\"} $window"
  } >"$prom.$$"
  mv -f "$prom.$$" "$prom"
fi
