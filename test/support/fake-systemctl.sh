#!/usr/bin/env bash
# systemctl for unit tests of okome-redis-restart, first on its PATH: "the unit" is redis-server
# on $REDIS_CONF as the redis user, daemonized, stopped by the pid in the file's pidfile.
# OKOME_TEST_REFUSE_LINE: a redis.conf line with which start fails, as a unit that cannot start
# on the new config would.
set -euo pipefail
# shellcheck source=/dev/null
. "$OKOME_REDIS_ENV"
pidfile=$(awk '$1 == "pidfile" { print $2 }' "$REDIS_CONF")

case "$1" in
stop)
  [ -f "$pidfile" ] || exit 0
  pid=$(<"$pidfile")
  kill "$pid" 2>/dev/null || exit 0
  # Redis removes its pidfile on the way out (its parent may not reap it while it waits on us).
  while [ -f "$pidfile" ]; do sleep 0.05; done
  ;;
start)
  if [ -n "${OKOME_TEST_REFUSE_LINE:-}" ] && grep -qxF "$OKOME_TEST_REFUSE_LINE" "$REDIS_CONF"; then
    echo "fake systemctl: $REDIS_UNIT refuses to start with '$OKOME_TEST_REFUSE_LINE'" >&2
    exit 1
  fi
  setpriv --reuid="$REDIS_USER" --regid="$REDIS_USER" --init-groups -- \
    redis-server "$REDIS_CONF" --daemonize yes --supervised no
  ;;
reset-failed | show) ;;
*)
  echo "fake systemctl: $1 is not faked" >&2
  exit 1
  ;;
esac
