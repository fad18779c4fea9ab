#!/usr/bin/env bash
# Builds wireguard-go (userspace WireGuard) from the Go module proxy into ~/.okome/bin, for the
# tests' WireGuard peers (test/support/wireguardPeer.ts): this machine's kernel has no WireGuard
# module, and the proxy is the only source of it here. Not installed on the Pis.
#
# The module has no tagged releases, only pseudo-versions; this is the newest the proxy serves
# (`go list -m golang.zx2c4.com/wireguard@latest`). A second run only checks a stamp.
set -euo pipefail

WIREGUARD_GO_MODULE=golang.zx2c4.com/wireguard
WIREGUARD_GO_VERSION=v0.0.0-20260522210424-ecfc5a8d5446

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/env.sh
source "$here/lib/env.sh"
bin="$OKOME_HOME/bin"
stamp="$bin/.wireguard-go-version"

log() { echo "[bootstrap-wireguard-go] $*"; }
die() {
  echo "[bootstrap-wireguard-go] error: $*" >&2
  exit 1
}

if [ "$(cat "$stamp" 2>/dev/null)" = "$WIREGUARD_GO_VERSION" ] && [ -x "$bin/wireguard-go" ]; then
  log "wireguard-go $WIREGUARD_GO_VERSION is up to date"
  exit 0
fi

command -v go >/dev/null || die "go is not installed; install Go >= 1.23.1 (its go.mod) and rerun"
# Only the module proxy is reachable: never fall back to cloning repositories.
GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
log "building $WIREGUARD_GO_MODULE@$WIREGUARD_GO_VERSION ..."
# `go install` outside a module builds exactly this version with the module's own go.sum.
GOBIN="$out" go install -trimpath -ldflags "-s -w" "$WIREGUARD_GO_MODULE@$WIREGUARD_GO_VERSION" ||
  die "go install of $WIREGUARD_GO_MODULE@$WIREGUARD_GO_VERSION failed (see above)"
mkdir -p "$bin"
# The module's main package is its root, so go names the binary after it: wireguard.
install -m 0755 "$out/wireguard" "$bin/wireguard-go"
echo "$WIREGUARD_GO_VERSION" >"$stamp"
log "installed $("$bin/wireguard-go" --version | head -1) into $bin"
