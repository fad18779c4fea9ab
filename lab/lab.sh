#!/usr/bin/env bash
# The lab tool: emulated Pis (and a mock orchestrator) on a bridge on this machine.
#   lab.sh up [--driver qemu|nspawn]   (default qemu)
#   lab.sh status
#   lab.sh ssh edge|model [command...]
#   lab.sh down
#   lab.sh image                       build (or find) the golden image, print its directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
[ $# -eq 0 ] || shift
case "$cmd" in
  up | down | status | ssh) exec "$here/$cmd.sh" "$@" ;;
  image) exec "$here/image/build.sh" "$@" ;;
  *) echo "usage: lab.sh up [--driver qemu|nspawn] | status | ssh edge|model [cmd...] | down | image" >&2; exit 2 ;;
esac
