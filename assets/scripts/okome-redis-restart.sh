#!/usr/bin/env bash
# okome-redis-restart: restarts redis-server, which empties the cache and sends the orchestrator
# into a miss storm, only when it must:
#  - the config file is not okome-cache's (a destroy restored the Debian one),
#  - it does not answer on the managed socket (first apply of the managed config, or down), or
#  - settings that CONFIG SET cannot change differ between the config file and the running
#    server (okome-redis-apply --check lists them).
# With persistence off, a dump.rdb left behind (the stock config saves one at shutdown) is removed
# before the start: Redis would otherwise reload the same stale entries at every restart.
# When the restarted server does not come up, Redis is not left down: the restart-only settings
# that differed go back in the config file to the values the stopped server ran with, Redis is
# started on that, and the script fails saying so. The file then differs from what the stack
# wrote (refresh shows it), and `--check`, the "-restart" set's verification, fails until an
# up writes it again: the set never records a restart that did not happen.
#
#   okome-redis-restart          restart if needed (above)
#   okome-redis-restart --check  change nothing; exit 1 if a restart is pending, the server
#                                differs live, or the file's restart-only lines are not the ones
#                                in $REDIS_RESTART_SETTINGS
#
# Installed by okome-cache (components/ModelCacheNode.ts); settings in /etc/okome/redis.env.
set -euo pipefail
# shellcheck source=/dev/null
. "${OKOME_REDIS_ENV:-/etc/okome/redis.env}"

fail() {
  echo "okome-redis-restart: $*" >&2
  exit 1
}
answers() {
  local reply
  reply=$(redis-cli -s "$REDIS_SOCKET" PING 2>/dev/null) || return 1
  [[ $reply == PONG || $reply == NOAUTH* ]]
}
setting() { awk -v n="$1" '$1 == n { $1 = ""; sub(/^ /, ""); v = $0 } END { print v }' "$REDIS_CONF"; }
managed() { grep -qx "unixsocket $REDIS_SOCKET" "$REDIS_CONF" && [ -r "$REDIS_ADMIN_SECRET" ]; }
# The file's directive lines (not comments) whose setting only a restart applies, in file order.
restart_only_lines() {
  local line
  grep -v -e '^#' -e '^$' "$1" | while IFS= read -r line; do
    [[ " $REDIS_RESTART_ONLY " == *" ${line%% *} "* ]] && echo "$line"
  done
  return 0
}
admin_cli() { REDISCLI_AUTH=$(<"$REDIS_ADMIN_SECRET") redis-cli -s "$REDIS_SOCKET" --user "$REDIS_ADMIN_USER" "$@"; }
# The running server's value of a setting, as a redis.conf value ("" when empty).
running_value() {
  local reply
  reply=$(admin_cli CONFIG GET "$1")
  [ "$(sed -n 1p <<<"$reply")" = "$1" ] || return 1
  reply=$(sed -n 2p <<<"$reply")
  if [ -n "$reply" ]; then echo "$reply"; else echo '""'; fi
}
wait_answers() {
  for _ in $(seq 50); do
    answers && return 0
    sleep 0.2
  done
  return 1
}
# Replaces every "name ..." line of the config file with "name value" (appended if absent),
# atomically and with the file's ownership and mode.
set_in_conf() {
  local name=$1 value=$2 new
  new=$(mktemp "$(dirname -- "$REDIS_CONF")/.okome-restart-XXXXXX")
  awk -v n="$name" -v line="$name $value" \
    '$1 == n { if (!done) print line; done = 1; next } { print } END { if (!done) print line }' \
    "$REDIS_CONF" >"$new"
  chown --reference="$REDIS_CONF" -- "$new"
  chmod --reference="$REDIS_CONF" -- "$new"
  mv -fT -- "$new" "$REDIS_CONF"
}

if [ "${1:-}" = --check ]; then
  left=$("$OKOME_SBIN/okome-redis-apply" --check)
  [ -z "$left" ] || fail "the running server differs from $REDIS_CONF: $left"
  if [ -e "$REDIS_RESTART_SETTINGS" ] &&
    ! cmp -s <(restart_only_lines "$REDIS_CONF") <(restart_only_lines "$REDIS_RESTART_SETTINGS"); then
    fail "the restart-only lines of $REDIS_CONF are not those of $REDIS_RESTART_SETTINGS: a restart on them failed and the previous values were put back; fix the setting and run pulumi up --refresh"
  fi
  exit 0
fi

if ! managed; then
  echo "okome-redis-restart: $REDIS_CONF is not okome-cache's: restarting $REDIS_UNIT onto it"
  systemctl restart "$REDIS_UNIT"
  systemctl is-active --quiet "$REDIS_UNIT" || fail "$REDIS_UNIT did not start on $REDIS_CONF"
  exit 0
elif answers; then
  pending=$("$OKOME_SBIN/okome-redis-apply" --check | awk '$1 == "restart" { printf " %s", $2 }')
  if [ -z "$pending" ]; then
    echo "okome-redis-restart: redis-server already runs with every restart-only setting of $REDIS_CONF; not restarting"
    exit 0
  fi
  reason="restart-only settings differ:$pending"
else
  reason="it does not answer on $REDIS_SOCKET"
fi

# What to come back on if the new settings do not start: the stopped server's values.
previous=()
for name in ${pending:-}; do
  value=$(running_value "$name") || fail "cannot read $name from the running server: not restarting"
  previous+=("$name" "$value")
done

echo "okome-redis-restart: restarting $REDIS_UNIT: $reason"
systemctl stop "$REDIS_UNIT"
if [ "$(setting save)" = '""' ] && [ "$(setting appendonly)" != yes ]; then
  rdb="$(setting dir)/$(setting dbfilename)"
  if [ -f "$rdb" ]; then
    echo "okome-redis-restart: persistence is off: removing $rdb"
    rm -f "$rdb"
  fi
fi
# Type=notify: start returns once Redis is ready to serve.
if ! { systemctl start "$REDIS_UNIT" && wait_answers; }; then
  journalctl -u "$REDIS_UNIT" -n 8 --no-pager -o cat >&2 || true
  ((${#previous[@]})) ||
    fail "redis-server did not start on $REDIS_CONF, and it was not running before: Redis is down"
  new_lines=() old_lines=()
  for ((i = 0; i < ${#previous[@]}; i += 2)); do
    new_lines+=("${previous[i]} $(setting "${previous[i]}")")
    old_lines+=("${previous[i]} ${previous[i + 1]}")
    set_in_conf "${previous[i]}" "${previous[i + 1]}"
  done
  systemctl reset-failed "$REDIS_UNIT" || true
  if systemctl start "$REDIS_UNIT" && wait_answers; then
    fail "redis-server did not start with ${new_lines[*]} (see above); it runs again with the previous ${old_lines[*]}, now in $REDIS_CONF. Fix the setting, then pulumi up --refresh"
  fi
  fail "redis-server did not start with ${new_lines[*]}, nor with the previous ${old_lines[*]} (now in $REDIS_CONF): Redis is down; see journalctl -u $REDIS_UNIT"
fi

left=$("$OKOME_SBIN/okome-redis-apply" --check)
[ -z "$left" ] || fail "after the restart the running server still differs from $REDIS_CONF: $left"
echo "okome-redis-restart: redis-server restarted and matches $REDIS_CONF"
