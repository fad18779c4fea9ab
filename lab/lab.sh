#!/usr/bin/env bash
# The lab tool: emulated Pis (and a mock orchestrator) on a bridge on this machine.
#   lab.sh up [--driver qemu|nspawn]   (default qemu)
#   lab.sh status
#   lab.sh ssh edge|model [command...]
#   lab.sh down
#   lab.sh power off|on edge|model     a power cut, and a boot on the same disk
#   lab.sh image                       build (or find) the golden image, print its directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
[ $# -eq 0 ] || shift
case "$cmd" in
  up | down)
    # One up/down at a time on this machine (the lab is shared); -o keeps the lock fd out
    # of the daemons up starts, so the lock ends with this command.
    lock=${OKOME_HOME:-$HOME/.okome}/lab/.lock
    mkdir -p "$(dirname "$lock")"
    flock -n "$lock" true || echo "[lab] waiting for another lab up/down to finish" >&2
    exec flock -o "$lock" "$here/$cmd.sh" "$@"
    ;;
  status | ssh | power) exec "$here/$cmd.sh" "$@" ;;
  image) exec "$here/image/build.sh" "$@" ;;
  *) echo "usage: lab.sh up [--driver qemu|nspawn] | status | ssh edge|model [cmd...] | power off|on edge|model | down | image" >&2; exit 2 ;;
esac
