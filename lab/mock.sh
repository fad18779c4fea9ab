#!/usr/bin/env bash
# The mock OKOME orchestrator (lab/mock-orchestrator/) inside the okome-orch namespace, on
# 10.86.0.25:8000, run by the project's Node with tsx; log in $OKOME_HOME/lab/run/okome-orch.log.
#   mock.sh check | start | stop
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

PID_FILE=$LAB_RUN/okome-orch.pid

# The project's Node (scripts/lib/env.sh) and tsx from node_modules.
check() {
  if [ -f "$REPO_ROOT/scripts/lib/env.sh" ]; then
    # shellcheck source=scripts/lib/env.sh
    . "$REPO_ROOT/scripts/lib/env.sh"
  fi
  command -v node >/dev/null || die "node is not on PATH (bash scripts/bootstrap-node.sh)"
  [ -f "$REPO_ROOT/node_modules/tsx/package.json" ] ||
    die "tsx is not installed: run 'npm ci' in $REPO_ROOT first"
}

start() {
  check
  # ip netns exec and setsid both exec in place, so $! is node's own pid.
  (cd "$REPO_ROOT" && exec setsid ip netns exec "$LAB_ORCH_NS" node --require tsx/cjs \
    lab/mock-orchestrator/main.ts --host "$LAB_ORCH_ADDR" --port "$LAB_ORCH_PORT" \
    </dev/null >"$LAB_RUN/okome-orch.log" 2>&1) &
  record_pid "$PID_FILE" "$!"
}

case "${1:-}" in
  check) check ;;
  start) start ;;
  stop) stop_recorded "$PID_FILE" 10 ;;
  *) die "usage: mock.sh check|start|stop" ;;
esac
