#!/usr/bin/env bash
# okome-redis-ownership: root owns Redis's config and the redis group only reads it (Redis never
# writes it: no CONFIG REWRITE, no ACL SAVE), and the secrets dirs have tight modes, now and after
# any package upgrade. Otherwise the redis user could plant a link where root writes next.
#  - $REDIS_CONF_DIR root:redis 0750 and $REDIS_CONF root:redis 0640, as dpkg-statoverride entries
#    of our own: they replace Debian's (redis-server registers redis.conf redis:redis 640), and
#    with an entry in place redis-tools' postinst no longer sets the dir redis:redis 2770.
#  - $REDIS_ACL root:redis 0640 (no package ships it, so no statoverride).
#  - $OKOME_SECRETS_DIR root:root 0700 and $EXPORTER_SECRETS_DIR root:prometheus 0750, created
#    here if missing: the sets that write into them run later, and a set creates root-owned dirs
#    only, with the mode its provider gives them.
# A path that is a symlink is refused, never followed. Idempotent: the activation of the
# scripts' config set, which runs before the config set writes into $REDIS_CONF_DIR.
#
# Installed by okome-cache (components/ModelCacheNode.ts); settings in /etc/okome/redis.env.
set -euo pipefail
# shellcheck source=/dev/null
. "${OKOME_REDIS_ENV:-/etc/okome/redis.env}"

fail() {
  echo "okome-redis-ownership: $*" >&2
  exit 1
}
no_link() {
  [ ! -L "$1" ] || fail "$1 is a symlink (to $(readlink -- "$1")): refusing to follow it; remove it and rerun"
}
# chown/chmod of what exists; a directory's setgid bit is cleared too (the extra leading 0).
own() {
  local owner=$1 group=$2 mode=$3 path=$4
  no_link "$path"
  [ -e "$path" ] || return 0
  chown "$owner:$group" "$path"
  chmod "0$mode" "$path"
}
# Makes "owner group mode" the path's statoverride, replacing another, and applies it.
override() {
  local owner=$1 group=$2 mode=$3 path=$4 current want
  no_link "$path"
  want="$owner $group $(printf %o "$((8#$mode))") $path"
  current=$(dpkg-statoverride --list "$path") || current=""
  if [ "$current" != "$want" ]; then
    [ -z "$current" ] || dpkg-statoverride --remove "$path"
    dpkg-statoverride --add "$owner" "$group" "$mode" "$path"
    echo "okome-redis-ownership: statoverride $want (was: ${current:-none})"
  fi
  own "$owner" "$group" "$mode" "$path"
}

# The dir first: from then on the redis user cannot plant anything in it.
override root "$REDIS_GROUP" "$REDIS_CONF_DIR_MODE" "$REDIS_CONF_DIR"
override root "$REDIS_GROUP" "$REDIS_CONF_MODE" "$REDIS_CONF"
own root "$REDIS_GROUP" "$REDIS_CONF_MODE" "$REDIS_ACL"

# A dir of mode `mode` (made if missing), then its owner and mode as given.
secrets_dir() {
  no_link "$4"
  [ -d "$4" ] || mkdir -m "$3" -- "$4"
  own "$@"
}
secrets_dir root root "$OKOME_SECRETS_DIR_MODE" "$OKOME_SECRETS_DIR"
if getent group "$EXPORTER_GROUP" >/dev/null; then
  secrets_dir root "$EXPORTER_GROUP" "$EXPORTER_SECRETS_DIR_MODE" "$EXPORTER_SECRETS_DIR"
fi
