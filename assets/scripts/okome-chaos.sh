#!/usr/bin/env bash
# okome-chaos: injects one fault on this node for a bounded time, for chaos drills on the lab.
#   okome-chaos [--duration SECONDS] [--dry-run] SCENARIO   inject SCENARIO, undone after SECONDS
#   okome-chaos undo SCENARIO                                undo it now (fine when it is not active)
#   okome-chaos status                                       what is active, when it is undone
# Scenarios: nginx-stop, redis-stop (the model node only), vip-failover (the node holding the VIP),
# upstream-down, cache-miss-storm, disk-full-cache.
# Injecting refuses (exit 3) unless /etc/okome/CHAOS_ENABLE exists: only the stack flag
# chaosEnabled creates it. undo and status always run, so a drill is undone after the flag goes.
# The undo is armed as a systemd timer BEFORE the fault is injected, so it runs even when this
# runner is killed. Every step goes to the journal: journalctl -t okome-chaos.
# Settings: /etc/okome/chaos.env, written by okome-cache. OKOME_CHAOS_ROOT (tests only) is put in
# front of every path this script reads or writes, and the timer's undo gets it too.
# Exit codes: 0 done, 1 a step failed, 2 usage, 3 CHAOS_ENABLE missing, 4 not on this node,
# 5 the scenario is already active.
# Installed by okome-cache on both nodes as /usr/local/sbin/okome-chaos.
set -euo pipefail
umask 022
me=okome-chaos
root=${OKOME_CHAOS_ROOT:-}
self=$(readlink -f "${BASH_SOURCE[0]}")
flag=$root/etc/okome/CHAOS_ENABLE
env_file=$root/etc/okome/chaos.env
state_dir=$root/run/okome/chaos
# The table of upstream-down: its own, so deleting it never touches fail2ban's or the VRRP filter.
family=inet table=okome_chaos
scenarios=(nginx-stop redis-stop vip-failover upstream-down cache-miss-storm disk-full-cache)

log() {
  echo "$me: $*"
  logger -t "$me" -- "$*" || true
}
die() {
  echo "$me: $2" >&2
  logger -t "$me" -- "error: $2" || true
  exit "$1"
}
usage() {
  die 2 "usage: $me [--duration SECONDS] [--dry-run] {${scenarios[*]}} | $me undo SCENARIO | $me status"
}

[ -r "$env_file" ] || die 1 "cannot read $env_file"
# shellcheck source=/dev/null
. "$env_file"
bad=()
want() { [[ ${!1:-} =~ $2 ]] || bad+=("$1='${!1:-}' is not $3"); }
want OKOME_NODE '^[A-Za-z0-9._-]+$' "a node name"
want OKOME_VIP '^[0-9.]+$' "an IPv4 address"
want OKOME_ORCHESTRATOR_HOST '^[0-9.]+$' "an IPv4 address"
want OKOME_ORCHESTRATOR_PORT '^[1-9][0-9]*$' "a port"
want OKOME_EDGE_PORT '^[1-9][0-9]*$' "a port"
want OKOME_CACHE_DIR '^/.+' "an absolute path"
want OKOME_REDIS_UNIT '^[A-Za-z0-9@._-]*$' "a unit name or empty"
want OKOME_TEXTFILE_DIR '^/.+' "an absolute path"
for knob in DEFAULT_DURATION MAX_DURATION STORM_REQUESTS STORM_PARALLEL DISK_FILL_PERCENT \
  DISK_MARGIN_MB DISK_FILL_MAX_MB; do
  want "OKOME_CHAOS_$knob" '^[1-9][0-9]*$' "a whole number >= 1"
done
[ ${#bad[@]} -eq 0 ] || die 1 "$(printf '%s; ' "${bad[@]/#/$env_file: }")"
node=$OKOME_NODE
cache_dir=$root$OKOME_CACHE_DIR
# Outside nginx's cache dir, so its cache manager never counts or removes it.
fill_file=$(dirname "$cache_dir")/.okome-chaos-fill

known() { [[ " ${scenarios[*]} " == *" $1 "* ]] || die 2 "unknown scenario '$1' (one of: ${scenarios[*]})"; }
timer_unit() { echo "okome-chaos-undo-$1"; }

# The fault, its undo, and the undo as an operator types it.
undo_hint() {
  case $1 in
  nginx-stop) echo "systemctl start nginx" ;;
  redis-stop) echo "systemctl start $OKOME_REDIS_UNIT" ;;
  vip-failover) echo "systemctl start keepalived" ;;
  upstream-down) echo "nft delete table $family $table" ;;
  cache-miss-storm) echo "nothing to put back: the cache refills from the orchestrator" ;;
  disk-full-cache) echo "rm -f $fill_file" ;;
  esac
}

undo_fault() {
  case $1 in
  nginx-stop) systemctl start nginx ;;
  redis-stop) systemctl start "$OKOME_REDIS_UNIT" ;;
  vip-failover) systemctl start keepalived ;;
  upstream-down) if nft list table "$family" "$table" >/dev/null 2>&1; then nft delete table "$family" "$table"; fi ;;
  cache-miss-storm) ;;
  disk-full-cache) rm -f "$fill_file" ;;
  esac
}

# okome_chaos_active per scenario, for the node exporter: an alert says a drill is running.
# Atomically: the collector reads only *.prom, never this temp file half-written.
write_metrics() {
  local dir=$root$OKOME_TEXTFILE_DIR s
  mkdir -p "$dir"
  {
    echo "# HELP okome_chaos_active 1 while okome-chaos has this scenario injected on this node."
    echo "# TYPE okome_chaos_active gauge"
    for s in "${scenarios[@]}"; do
      echo "okome_chaos_active{node=\"$node\",scenario=\"$s\"} $([ -e "$state_dir/$s" ] && echo 1 || echo 0)"
    done
  } >"$dir/okome_chaos.prom.$$"
  mv -f "$dir/okome_chaos.prom.$$" "$dir/okome_chaos.prom"
}

undo() {
  local scenario=$1 unit
  unit=$(timer_unit "$scenario")
  undo_fault "$scenario" || die 1 "$scenario: undo failed on $node; by hand: $(undo_hint "$scenario")"
  rm -f "$state_dir/$scenario"
  write_metrics
  # When the timer itself runs this, stopping it is a no-op; by hand it disarms the timer.
  systemctl stop "$unit.timer" >/dev/null 2>&1 || true
  log "$scenario: undone on $node"
}

status() {
  local any=0 file since
  if [ -e "$flag" ]; then echo "$me: $flag exists: drills may run on $node"; else echo "$me: no $flag: drills refuse to run on $node"; fi
  for file in "$state_dir"/*; do
    # The undo timer may remove a file between the listing and the read: that drill is over.
    since=$(cat "$file" 2>/dev/null) || continue
    any=1
    echo "ACTIVE $(basename "$file"): $since"
  done
  [ "$any" = 1 ] || echo "$me: no scenario is active on $node"
}

holds_vip() { ip -4 -o addr show | grep -q " $OKOME_VIP/"; }

# The bytes disk-full-cache writes: up to DISK_FILL_PERCENT of the filesystem used, at most
# DISK_FILL_MAX_MB, and always DISK_MARGIN_MB left free, so the root filesystem never fills.
fill_bytes() {
  local size used avail target margin cap bytes
  read -r size used avail < <(df -B1 --output=size,used,avail "$(dirname "$cache_dir")" | tail -n 1)
  target=$((size * OKOME_CHAOS_DISK_FILL_PERCENT / 100 - used))
  margin=$((avail - OKOME_CHAOS_DISK_MARGIN_MB * 1024 * 1024))
  cap=$((OKOME_CHAOS_DISK_FILL_MAX_MB * 1024 * 1024))
  bytes=$target
  [ "$margin" -ge "$bytes" ] || bytes=$margin
  [ "$cap" -ge "$bytes" ] || bytes=$cap
  [ "$bytes" -gt 0 ] || bytes=0
  echo "$bytes"
}

# A bounded burst at the local edge: STORM_REQUESTS requests, STORM_PARALLEL at a time, over the
# pre-warm top list (the URLs clients really ask for) or / when there is none.
storm() {
  local list=$root/var/lib/okome-prewarm/top-urls.txt paths=() args=() i
  if [ -s "$list" ]; then mapfile -t paths < <(grep '^/' "$list"); fi
  [ ${#paths[@]} -gt 0 ] || paths=(/)
  for ((i = 0; i < OKOME_CHAOS_STORM_REQUESTS; i++)); do
    args+=(-o /dev/null "http://127.0.0.1:$OKOME_EDGE_PORT${paths[i % ${#paths[@]}]}")
  done
  # Errors are the drill's result, not this script's failure.
  timeout "$duration" curl -s --parallel --parallel-max "$OKOME_CHAOS_STORM_PARALLEL" \
    --max-time 10 -w '%{http_code}\n' "${args[@]}" | sort | uniq -c | sed "s/^/$me: storm: /" || true
}

inject() {
  case $1 in
  nginx-stop) systemctl stop nginx ;;
  redis-stop) systemctl stop "$OKOME_REDIS_UNIT" ;;
  vip-failover) systemctl stop keepalived ;;
  upstream-down)
    nft -f - <<EOF
table $family $table
delete table $family $table
table $family $table {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr $OKOME_ORCHESTRATOR_HOST tcp dport $OKOME_ORCHESTRATOR_PORT drop
  }
}
EOF
    ;;
  cache-miss-storm)
    find "$cache_dir" -mindepth 1 -delete
    storm
    ;;
  disk-full-cache) fallocate -l "$bytes" "$fill_file" ;;
  esac
}

describe() {
  case $1 in
  nginx-stop) echo "stop nginx on $node" ;;
  redis-stop) echo "stop $OKOME_REDIS_UNIT on $node (its keys are lost: no persistence)" ;;
  vip-failover) echo "stop keepalived on $node, which holds $OKOME_VIP" ;;
  upstream-down) echo "drop $node's traffic to $OKOME_ORCHESTRATOR_HOST:$OKOME_ORCHESTRATOR_PORT (nft table $family $table)" ;;
  cache-miss-storm) echo "empty $cache_dir, then $OKOME_CHAOS_STORM_REQUESTS requests ($OKOME_CHAOS_STORM_PARALLEL at a time) to 127.0.0.1:$OKOME_EDGE_PORT" ;;
  disk-full-cache) echo "fill $(dirname "$cache_dir")'s filesystem with $fill_file, $bytes bytes" ;;
  esac
}

case ${1:-} in
undo)
  [ $# -eq 2 ] || usage
  known "$2"
  undo "$2"
  exit 0
  ;;
status)
  [ $# -eq 1 ] || usage
  status
  exit 0
  ;;
esac

duration=$OKOME_CHAOS_DEFAULT_DURATION dry_run=0 scenario=''
while [ $# -gt 0 ]; do
  case $1 in
  --duration)
    [ $# -ge 2 ] || usage
    duration=$2
    shift 2
    ;;
  --dry-run)
    dry_run=1
    shift
    ;;
  -*) usage ;;
  *)
    [ -z "$scenario" ] || usage
    scenario=$1
    shift
    ;;
  esac
done
[ -n "$scenario" ] || usage
known "$scenario"
if ! [[ $duration =~ ^[1-9][0-9]*$ ]] || [ "$duration" -gt "$OKOME_CHAOS_MAX_DURATION" ]; then
  die 2 "--duration must be whole seconds from 1 to $OKOME_CHAOS_MAX_DURATION, got '$duration'"
fi
[ -e "$flag" ] || die 3 "refusing: $flag does not exist on $node (the stack flag chaosEnabled creates it)"
[ ! -e "$state_dir/$scenario" ] ||
  die 5 "$scenario is already active on $node ($(<"$state_dir/$scenario")); undo it first: $me undo $scenario"
case $scenario in
redis-stop) [ -n "$OKOME_REDIS_UNIT" ] || die 4 "redis-stop: Redis does not run on $node" ;;
vip-failover) holds_vip || die 4 "vip-failover: $node does not hold $OKOME_VIP; run it on the node that does" ;;
esac
bytes=0
if [ "$scenario" = disk-full-cache ]; then
  bytes=$(fill_bytes)
  [ "$bytes" -gt 0 ] || die 4 "disk-full-cache: $(dirname "$cache_dir")'s filesystem is already past its bound (${OKOME_CHAOS_DISK_FILL_PERCENT}% used or ${OKOME_CHAOS_DISK_MARGIN_MB} MB free)"
fi

unit=$(timer_unit "$scenario")
arm=(systemd-run --quiet --collect --on-active="${duration}s" --unit "$unit")
[ -z "$root" ] || arm+=(--setenv=OKOME_CHAOS_ROOT="$root")
arm+=("$self" undo "$scenario")
if [ "$dry_run" = 1 ]; then
  echo "$me: dry run on $node, nothing changed. It would:"
  echo "  1. arm the undo: ${arm[*]}"
  echo "  2. $(describe "$scenario")"
  echo "  3. undo after ${duration} s; by hand: $me undo $scenario (that is: $(undo_hint "$scenario"))"
  exit 0
fi

# A timer of an earlier drill that failed would keep the unit name taken.
systemctl reset-failed "$unit.timer" "$unit.service" >/dev/null 2>&1 || true
"${arm[@]}" || die 1 "$scenario: could not arm the undo timer $unit, so nothing was injected"
log "$scenario: undo armed: $unit.timer in ${duration} s"
mkdir -p "$state_dir"
echo "since $(date -Is), undone by $unit.timer after ${duration} s" >"$state_dir/$scenario"
write_metrics
log "$scenario: injecting: $(describe "$scenario")"
if ! inject "$scenario"; then
  log "$scenario: injecting failed; undoing now"
  undo "$scenario"
  exit 1
fi
log "$scenario: injected on $node; undone in ${duration} s by $unit.timer"
echo "$me: undo by hand: $me undo $scenario (that is: $(undo_hint "$scenario"))"
