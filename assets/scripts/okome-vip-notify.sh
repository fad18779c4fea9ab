#!/usr/bin/env bash
# okome-vip-notify: keepalived's notify script for the VIP pair. On every VRRP state notification
# it logs one line to the journal (journalctl -t okome-vip), records the state, and writes node
# exporter textfile metrics: whether this node holds the VIP, its state, the transitions counted
# and when the state last changed.
#   okome-vip-notify INSTANCE|GROUP NAME MASTER|BACKUP|FAULT|STOP PRIORITY
#                    as keepalived calls it (notify in the vrrp_instance; keepalived.conf(5))
# Settings: ${OKOME_VIP_ENV:-/etc/okome/vip.env}, sourced. The last state, the transition counter
# and the time of the last change are kept in OKOME_STATE_DIR, so they survive a reboot: one record
# a node, as one vrrp_instance (the VIP pair's) calls it.
# A transition is a state other than the recorded one, and the first notification (from none)
# counts: keepalived starting is the node taking a state. The same state again (keepalived repeats
# notifications, e.g. on a reload) rewrites the metrics but counts nothing.
# keepalived does not wait for the script, so notifications close together run side by side: a
# lock serialises them, but cannot restore their order (keepalived's notify_fifo is ordered).
# Exits 0 after recording the state; 1 when a setting is wrong, another notification held the lock
# for 5 s, or a write failed; 2 on bad usage. keepalived's notify output goes to /dev/null, so
# errors go to the journal too.
# Installed by okome-cache on both nodes of the VIP pair as /usr/local/sbin/okome-vip-notify.
set -euo pipefail
umask 022
me=okome-vip-notify
tag=okome-vip
usage="usage: $me INSTANCE|GROUP NAME MASTER|BACKUP|FAULT|STOP PRIORITY"

# Lines $2... to stderr and the journal, then exit $1.
fail() {
  local code=$1 line
  shift
  for line; do
    echo "$me: $line" >&2
    logger -t "$tag" -p user.err -- "$me: $line" || true
  done
  exit "$code"
}

# The name goes unescaped into a metric label. keepalived gives a group the priority 0.
if [ $# -ne 4 ] || [[ ! $1 =~ ^(INSTANCE|GROUP)$ ]] || [[ ! $2 =~ ^[A-Za-z0-9._-]+$ ]] ||
  [[ ! $3 =~ ^(MASTER|BACKUP|FAULT|STOP)$ ]] || [[ ! $4 =~ ^[0-9]{1,3}$ ]]; then
  fail 2 "bad arguments: $*" "$usage"
fi
name=$2 target=$3 priority=$4

env_file=${OKOME_VIP_ENV:-/etc/okome/vip.env}
[ -r "$env_file" ] || fail 1 "cannot read $env_file"
# Not a usage error (exit 2) when it does not parse.
# shellcheck source=/dev/null
. "$env_file" || fail 1 "$env_file does not parse as settings"

bad=()
want() { [[ ${!1:-} =~ $2 ]] || bad+=("$1='${!1:-}' is not $3"); }
octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
# The node name goes unescaped into a metric label.
want OKOME_NODE '^[A-Za-z0-9._-]+$' "a node name"
want OKOME_VIP "^($octet\\.){3}$octet\$" "an IPv4 address"
want OKOME_STATE_DIR '^/' "an absolute path"
want OKOME_TEXTFILE_DIR '^/' "an absolute path"
if [ ${#bad[@]} -gt 0 ]; then
  fail 1 "${bad[@]/#/$env_file: }"
fi

now=$EPOCHSECONDS
node=$OKOME_NODE
# Anything else that fails (a full disk, a directory the script user cannot write) is journaled
# too, not lost with the output.
trap 'fail 1 "$node: $target of $name: line $LINENO failed (exit $?)"' ERR
install -d -m 0700 "$OKOME_STATE_DIR"
mkdir -p "$OKOME_TEXTFILE_DIR"
# Notifications close together take turns, waiting 5 s at most: stuck ones must not pile up
# (keepalived kills a STOP one after 1 s anyway).
exec 9>"$OKOME_STATE_DIR/lock"
flock -w 5 9 || fail 1 "$node: another notification has held $OKOME_STATE_DIR/lock for 5 s; $target of $name not recorded"
temps=()
trap 'rm -f "${temps[@]}"' EXIT

# One "key=value" a line. Missing (first notification, or wiped): none, nothing counted.
recorded=$OKOME_STATE_DIR/state
state=none transitions=0 since=''
if [ -f "$recorded" ]; then
  while IFS='=' read -r key value; do
    case $key in
    state) if [[ $value =~ ^(MASTER|BACKUP|FAULT|STOP)$ ]]; then state=$value; fi ;;
    transitions | since) if [[ $value =~ ^[0-9]+$ ]]; then printf -v "$key" %s "$value"; fi ;;
    esac
  done <"$recorded"
fi

previous=$state
if [ "$target" != "$state" ]; then
  state=$target since=$now transitions=$((transitions + 1))
fi
# A record without a time (edited by hand): the change is now.
since=${since:-$now}
printf -v record '%s\n' "state=$state" "transitions=$transitions" "since=$since"
# Rewritten on a change only; the rename makes it whole or absent, even when the power goes.
if ! cmp -s "$recorded" <(printf %s "$record") 2>/dev/null; then
  temps+=("$recorded.$$")
  printf %s "$record" >"$recorded.$$"
  mv -f "$recorded.$$" "$recorded"
fi

master=0
[ "$state" != MASTER ] || master=1
case $state in
BACKUP) code=0 ;;
MASTER) code=1 ;;
FAULT) code=2 ;;
STOP) code=3 ;;
esac
# Atomically: the collector reads only *.prom, never this temp file half-written.
prom=$OKOME_TEXTFILE_DIR/okome_vip.prom
temps+=("$prom.$$")
# vrrp_instance, not instance: Prometheus sets instance itself when it scrapes.
label="{node=\"$node\",vrrp_instance=\"$name\"}"
cat >"$prom.$$" <<EOF
# HELP okome_vip_master 1 while this node is the VRRP MASTER (holds the VIP), else 0.
# TYPE okome_vip_master gauge
okome_vip_master$label $master
# HELP okome_vip_state The VRRP state keepalived last notified: 0 BACKUP, 1 MASTER, 2 FAULT, 3 STOP.
# TYPE okome_vip_state gauge
okome_vip_state$label $code
# HELP okome_vip_transitions_total VRRP state changes notified (the first one, from none, included).
# TYPE okome_vip_transitions_total counter
okome_vip_transitions_total$label $transitions
# HELP okome_vip_last_change_timestamp_seconds When the VRRP state last changed.
# TYPE okome_vip_last_change_timestamp_seconds gauge
okome_vip_last_change_timestamp_seconds$label $since
EOF
mv -f "$prom.$$" "$prom"

if [ "$previous" = "$state" ]; then
  line="$node: still $state (${1,,} $name, priority $priority, VIP $OKOME_VIP)"
else
  line="$node: $previous -> $state (${1,,} $name, priority $priority, VIP $OKOME_VIP)"
fi
echo "$tag: $line"
logger -t "$tag" -- "$line"
