#!/usr/bin/env bash
# okome-redis-server-candidate: proves that redis-server accepts its config file, and the ACL file
# that file names, by starting a throw-away server on them: as the redis user, listening only on a
# unix socket in a temp dir, never on TCP. redis-server 7.0 has no config-test flag; this is what
# catches a bad directive, size or policy and an ACL rule Redis rejects, with Redis's own message.
# Since the throw-away server binds no TCP port, the bind addresses are checked against the host.
# With okome-cache's users (an aclfile), the admin must be able to log in with its secret; the
# Debian file that a destroy restores has no users and is checked as Redis alone.
#
#   okome-redis-server-candidate             validate; on failure print why and exit 1
#   okome-redis-server-candidate --dump DIR  also write the candidate's effective settings (DIR/config,
#                                     CONFIG GET * as name/value lines) and users (DIR/acl, ACL LIST)
#
# Installed by okome-cache (components/ModelCacheNode.ts); settings in /etc/okome/redis.env.
set -euo pipefail
# shellcheck source=/dev/null
. "${OKOME_REDIS_ENV:-/etc/okome/redis.env}"

fail() {
  echo "okome-redis-server-candidate: $*" >&2
  exit 1
}

dump=""
if [ "${1:-}" = --dump ]; then
  dump=${2:?--dump needs a directory}
fi

bind=()
read -r -a bind < <(awk '$1 == "bind" { $1 = ""; line = $0 } END { print line }' "$REDIS_CONF") || true
addresses=$(ip -o addr show)
for addr in "${bind[@]}"; do
  # "-addr" is optional to Redis and "*" means any address: neither can fail to bind.
  case "$addr" in -* | '*') continue ;; esac
  grep -qF " $addr/" <<<"$addresses" ||
    fail "bind address $addr (in $REDIS_CONF) is not configured on this host"
done

tmp=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
chown "$REDIS_USER" "$tmp"

# The unit's open-files limit, so the candidate derives the same maxclients as the real server.
limit=$(systemctl show -p LimitNOFILE --value "$REDIS_UNIT" 2>/dev/null) || limit=""
if [ -n "$limit" ]; then ulimit -n "$limit" 2>/dev/null || true; fi

# Command-line settings win over the file: no TCP, a private socket, pid file, log and dir.
setpriv --reuid="$REDIS_USER" --regid="$REDIS_USER" --init-groups -- redis-server "$REDIS_CONF" \
  --port 0 --unixsocket "$tmp/redis.sock" --pidfile "$tmp/redis.pid" --logfile "" \
  --dir "$tmp" --daemonize no --supervised no >"$tmp/log" 2>&1 &
server=$!

# Redis creates the socket before it loads the aclfile: ready means it answers.
answers() {
  local reply
  reply=$(redis-cli -s "$tmp/redis.sock" PING 2>/dev/null) || return 1
  [[ $reply == PONG || $reply == NOAUTH* ]]
}
for _ in $(seq 100); do
  answers && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if ! answers; then
  # Redis's own complaint: the FATAL block for the config file, "#" lines for the ACL file.
  grep -v -e '^$' -e ' \* ' "$tmp/log" | tail -n 8 >&2 || true
  fail "redis-server refuses $REDIS_CONF (see above)"
fi

if grep -q '^aclfile ' "$REDIS_CONF"; then
  cli() { REDISCLI_AUTH=$(<"$REDIS_ADMIN_SECRET") redis-cli -s "$tmp/redis.sock" --user "$REDIS_ADMIN_USER" "$@"; }
  [ "$(cli PING)" = PONG ] ||
    fail "$REDIS_ADMIN_USER cannot log in with $REDIS_ADMIN_SECRET: it and the aclfile disagree"
elif [ -n "$dump" ]; then
  fail "$REDIS_CONF names no aclfile: it is not okome-cache's, there is nothing to compare"
fi

if [ -n "$dump" ]; then
  cli CONFIG GET '*' >"$dump/config"
  cli ACL LIST >"$dump/acl"
fi
echo "okome-redis-server-candidate: redis-server accepts $REDIS_CONF"
