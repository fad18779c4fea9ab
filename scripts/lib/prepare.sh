# shellcheck shell=bash
# Sourced by the README commands: installs everything a fresh machine lacks, then puts Node 22 and
# pulumi on PATH. Each step is idempotent and takes seconds when nothing changed.

_okome_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

step() { printf '\n[%s] %s\n' "$(basename "$0" .sh)" "$*"; }

step "system packages"
bash "$_okome_root/scripts/install-system-packages.sh"

step "Node 22"
bash "$_okome_root/scripts/bootstrap-node.sh"
# shellcheck source=scripts/lib/env.sh
source "$_okome_root/scripts/lib/env.sh"

step "npm packages"
# npm ci wipes node_modules; skip it when the lock file is what was installed last.
_okome_lock_stamp="$_okome_root/node_modules/.okome-lock.sha256"
if [[ "$(cat "$_okome_lock_stamp" 2>/dev/null)" == "$(sha256sum <"$_okome_root/package-lock.json")" ]]; then
  echo "node_modules matches package-lock.json"
else
  (cd "$_okome_root" && npm ci --no-audit --no-fund)
  sha256sum <"$_okome_root/package-lock.json" >"$_okome_lock_stamp"
fi

step "Pulumi toolchain"
bash "$_okome_root/scripts/bootstrap-pulumi.sh"

step "wireguard-go (the tests' userspace WireGuard peers)"
bash "$_okome_root/scripts/bootstrap-wireguard-go.sh"
unset _okome_root _okome_lock_stamp
