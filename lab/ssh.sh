#!/usr/bin/env bash
# Log in to a lab host as the deploy user with the lab key and the pinned host key.
#   ssh.sh edge|model|okome-edge|okome-model [command...]
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

host=$(host_name "${1:-}") || host=''
case "$host" in
  okome-edge | okome-model) ;;
  *) die "usage: lab ssh edge|model [command...] (the orchestrator is a mock with no sshd)" ;;
esac
shift
addr=${LAB_ADDR[$host]}
routes_via_bridge "$addr" || die "$addr does not route via $LAB_BRIDGE: is the lab up? (npm run lab:status)"
mapfile -t args < <(ssh_opts)
exec ssh "${args[@]}" "$LAB_USER@$addr" "$@"
