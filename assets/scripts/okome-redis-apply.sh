#!/usr/bin/env bash
# okome-redis-apply: brings the running redis-server in line with its config file without a
# restart, so the cache survives the change. Redis itself says what the file means:
# okome-redis-server-candidate loads it into a throw-away server, and this script compares that server's
# effective settings (CONFIG GET *) and users (ACL LIST) with the running server's.
#  - Settings Redis changes at runtime are applied in one CONFIG SET (atomic: all or none).
#  - Restart-only settings are reported, not applied: okome-redis-restart does that.
#  - Users are reloaded (ACL LOAD) only when they differ: ACL LOAD disconnects every logged-in
#    client, which then reconnects.
# No CONFIG REWRITE and no ACL SAVE: the managed files, not the running server, are the truth.
#
#   okome-redis-apply          apply; when the server does not answer on the managed socket (first
#                              apply, or down), or the file is not okome-cache's (a destroy put the
#                              Debian one back), only a restart can apply it: okome-redis-restart
#   okome-redis-apply --check  change nothing; print "live|restart <setting>" and "users" per
#                              difference; exit 1 if anything but restart-only settings differs
#
# Installed by okome-cache (components/ModelCacheNode.ts); settings in /etc/okome/redis.env.
set -euo pipefail
# shellcheck source=/dev/null
. "${OKOME_REDIS_ENV:-/etc/okome/redis.env}"

fail() {
  echo "okome-redis-apply: $*" >&2
  exit 1
}

check=false
[ "${1:-}" = --check ] && check=true

answers() {
  local reply
  reply=$(redis-cli -s "$REDIS_SOCKET" PING 2>/dev/null) || return 1
  [[ $reply == PONG || $reply == NOAUTH* ]]
}
managed() { grep -qx "unixsocket $REDIS_SOCKET" "$REDIS_CONF" && [ -r "$REDIS_ADMIN_SECRET" ]; }
if ! managed; then
  $check && fail "$REDIS_CONF is not okome-cache's: there is nothing to compare"
  exec "$OKOME_SBIN/okome-redis-restart"
fi
if ! answers; then
  $check && fail "redis-server does not answer on $REDIS_SOCKET"
  exec "$OKOME_SBIN/okome-redis-restart"
fi

# redis-cli exits 0 on error replies: callers compare the reply.
admin_cli() {
  local secret=$1
  shift
  REDISCLI_AUTH=$(<"$secret") redis-cli -s "$REDIS_SOCKET" --user "$REDIS_ADMIN_USER" "$@"
}
cli() { admin_cli "$REDIS_ADMIN_SECRET" "$@"; }
if [ "$(cli PING)" != PONG ]; then
  # The admin password changed since the running server loaded its users: log in with the one
  # it accepted last and load the users from the file, instead of a restart that empties the cache.
  if ! { [ -r "$REDIS_ADMIN_ACCEPTED" ] && [ "$(admin_cli "$REDIS_ADMIN_ACCEPTED" PING)" = PONG ]; }; then
    fail "$REDIS_ADMIN_USER cannot log in to the running server with $REDIS_ADMIN_SECRET, nor with the last accepted secret $REDIS_ADMIN_ACCEPTED"
  fi
  $check && fail "the running server's users predate the admin password in $REDIS_ADMIN_SECRET"
  reply=$(admin_cli "$REDIS_ADMIN_ACCEPTED" ACL LOAD)
  [ "$reply" = OK ] || fail "ACL LOAD refused, users unchanged: $reply"
  echo "okome-redis-apply: the admin password changed: users reloaded from the aclfile"
  [ "$(cli PING)" = PONG ] ||
    fail "after ACL LOAD, $REDIS_ADMIN_USER still cannot log in with $REDIS_ADMIN_SECRET"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$OKOME_SBIN/okome-redis-server-candidate" --dump "$tmp" >/dev/null
cli CONFIG GET '*' >"$tmp/live-config"
cli ACL LIST >"$tmp/live-acl"

declare -A want have
while IFS= read -r name && IFS= read -r value; do want[$name]=$value; done <"$tmp/config"
while IFS= read -r name && IFS= read -r value; do have[$name]=$value; done <"$tmp/live-config"
# The throw-away server overrode these on its command line: the file says what they should be.
for name in port unixsocket pidfile logfile dir; do
  value=$(awk -v n="$name" '$1 == n { v = $2 } END { print v }' "$REDIS_CONF")
  if [ -n "$value" ]; then want[$name]=$value; else unset "want[$name]"; fi
done
# The unit's command line sets these for the running server, whatever the file says.
unset 'want[daemonize]' 'want[supervised]'

live=() restart=()
while IFS= read -r name; do
  [ "${have[$name]-}" = "${want[$name]}" ] && continue
  if [[ " $REDIS_RESTART_ONLY " == *" $name "* ]]; then restart+=("$name"); else live+=("$name"); fi
done < <(printf '%s\n' "${!want[@]}" | sort)
# ACL LIST words its rules in hash-table order, which differs between processes: compare
# each user's rules as a sorted set.
acl_rules() {
  local line
  while IFS= read -r line; do
    tr ' ' '\n' <<<"$line" | sort | tr '\n' ' '
    echo
  done <"$1" | sort
}
users_differ=false
cmp -s <(acl_rules "$tmp/acl") <(acl_rules "$tmp/live-acl") || users_differ=true

if $check; then
  for name in "${live[@]}"; do echo "live $name"; done
  for name in "${restart[@]}"; do echo "restart $name"; done
  $users_differ && echo users
  if ((${#live[@]})) || $users_differ; then
    fail "the running server differs from $REDIS_CONF in settings it can change live"
  fi
  exit 0
fi

# --check writes nothing: only an apply records what the server accepts.
install -D -m 0600 "$REDIS_ADMIN_SECRET" "$REDIS_ADMIN_ACCEPTED"
if ((${#live[@]})); then
  args=()
  for name in "${live[@]}"; do
    args+=("$name" "${want[$name]}")
    echo "okome-redis-apply: $name: '${have[$name]-}' -> '${want[$name]}'"
  done
  reply=$(cli CONFIG SET "${args[@]}")
  [ "$reply" = OK ] || fail "CONFIG SET refused, nothing changed: $reply"
fi
if $users_differ; then
  reply=$(cli ACL LOAD)
  [ "$reply" = OK ] || fail "ACL LOAD refused, users unchanged: $reply"
  echo "okome-redis-apply: users reloaded from the aclfile (logged-in clients reconnect)"
fi
for name in "${restart[@]}"; do
  echo "okome-redis-apply: $name needs a restart ('${have[$name]-}' -> '${want[$name]}'): left to okome-redis-restart"
done
if ! ((${#live[@]} + ${#restart[@]})) && ! $users_differ; then
  echo "okome-redis-apply: the running server already matches $REDIS_CONF"
fi
