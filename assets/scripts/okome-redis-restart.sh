#!/usr/bin/env bash
# okome-redis-restart: restarts redis-server, which empties the cache and sends the orchestrator
# into a miss storm, only when it must:
#  - the config file is not okome-cache's (a destroy restored the Debian one),
#  - it does not answer on the managed socket (first apply of the managed config, or down), or
#  - settings that CONFIG SET cannot change differ between the config file and the running
#    server (okome-redis-apply --check lists them).
# With persistence off, a dump.rdb left behind (the stock config saves one at shutdown) is removed
# before the start: Redis would otherwise reload the same stale entries at every restart.
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
systemctl start "$REDIS_UNIT"
for _ in $(seq 50); do
  answers && break
  sleep 0.2
done
answers || fail "redis-server does not answer on $REDIS_SOCKET after the restart"

left=$("$OKOME_SBIN/okome-redis-apply" --check)
[ -z "$left" ] || fail "after the restart the running server still differs from $REDIS_CONF: $left"
echo "okome-redis-restart: redis-server restarted and matches $REDIS_CONF"
