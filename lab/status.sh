#!/usr/bin/env bash
# Lab status: driver, per-host process state, addresses, and whether sshd (with the pinned
# key) and the mock orchestrator answer. Probes go out only when the address routes over
# okbr0, so a lab that is down never sends traffic anywhere.
#   status.sh              print the table; exit 0 only when everything answers
#   status.sh --quiet      no output, same exit code
#   status.sh --running    exit 0 when every lab process is alive and the network exists
#   status.sh --leftovers  print what of a lab exists on this machine (empty when none)
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

host_pid_file() {
  if [ "$1" = okome-orch ]; then
    echo "$LAB_RUN/okome-orch.pid"
  elif [ -f "$LAB_RUN/$1/supervisor.pid" ]; then
    echo "$LAB_RUN/$1/supervisor.pid"
  else
    echo "$LAB_RUN/$1/vm.pid"
  fi
}

# Every recorded process alive and the network in place; no probes.
running() {
  local host ns
  [ -f "$LAB_RUN/driver" ] && ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || return 1
  for host in "${LAB_HOSTS[@]}" okome-orch; do
    recorded_pid_alive "$(host_pid_file "$host")" || return 1
  done
  for ns in "${LAB_HOSTS[@]}" okome-orch; do [ -e "/run/netns/$ns" ] || return 1; done
}

leftovers() {
  local items=() ns short f m
  for ns in "${LAB_HOSTS[@]}" okome-orch; do [ ! -e "/run/netns/$ns" ] || items+=("netns:$ns"); done
  ! ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || items+=("link:$LAB_BRIDGE")
  for short in "${LAB_SHORT[@]}"; do
    ! ip link show "okv-$short" >/dev/null 2>&1 || items+=("link:okv-$short")
  done
  while read -r f; do
    [ -n "$f" ] || continue
    ! recorded_pid_alive "$f" || items+=("pid:$(recorded_pid "$f")($f)")
  done < <(find "$LAB_RUN" -name '*.pid' 2>/dev/null)
  while read -r m; do [ -z "$m" ] || items+=("mount:$m"); done < <(lab_mounts)
  [ ${#items[@]} -eq 0 ] || echo "${items[*]}"
}

check() {
  local quiet=$1 driver healthy=0 host pid_file state probe addr
  if [ ! -f "$LAB_RUN/driver" ]; then
    [ "$quiet" -eq 1 ] || echo "lab: down$([ -z "$(leftovers)" ] || echo " (leftovers: $(leftovers); run lab:down)")"
    return 1
  fi
  driver=$(cat "$LAB_RUN/driver")
  if [ "$quiet" -eq 0 ]; then
    echo "lab: driver $driver$([ ! -f "$LAB_RUN/accel" ] || echo " ($(cat "$LAB_RUN/accel"))"), image $(basename "$(cat "$LAB_RUN/image" 2>/dev/null || echo '?')")"
    printf '%-12s %-11s %-22s %s\n' HOST ADDRESS PROCESS ANSWERS
  fi
  for host in "${LAB_HOSTS[@]}" okome-orch; do
    addr=${LAB_ADDR[$host]}
    pid_file=$(host_pid_file "$host")
    if recorded_pid_alive "$pid_file"; then
      state="running (pid $(recorded_pid "$pid_file"))"
    else
      state=stopped
      healthy=1
    fi
    if ! routes_via_bridge "$addr"; then
      probe="no route via $LAB_BRIDGE"
      healthy=1
    elif [ "$host" = okome-orch ]; then
      if mock_probe; then
        probe="mock /health ok ($addr:$LAB_ORCH_PORT)"
      else
        probe="mock /health FAILED"
        healthy=1
      fi
    elif ssh_probe "$addr" >/dev/null; then
      probe="ssh ok (pinned key)"
    else
      probe="ssh FAILED (console: $LAB_RUN/$host.console.log)"
      healthy=1
    fi
    [ "$quiet" -eq 1 ] || printf '%-12s %-11s %-22s %s\n' "$host" "$addr" "$state" "$probe"
  done
  if [ "$quiet" -eq 0 ]; then
    echo "ssh: npm run lab:ssh -- edge|model   (key $LAB_KEY, known_hosts $LAB_HOME/known_hosts)"
    echo "stack files: $LAB_HOME/hosts.json $LAB_HOME/known_hosts"
  fi
  return "$healthy"
}

case "${1:-}" in
  --leftovers) leftovers ;;
  --running) running ;;
  --quiet) check 1 ;;
  "") check 0 ;;
  *) die "usage: status.sh [--quiet|--running|--leftovers]" ;;
esac
