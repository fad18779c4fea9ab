#!/usr/bin/env bash
# Bring the lab up: golden image, network, the two lab hosts, the mock orchestrator; wait
# until sshd answers on both hosts with the pinned host key and the mock answers /health.
# Idempotent: a healthy lab is left as it is; a stale one (killed run) is cleaned first.
#   up.sh [--driver qemu|nspawn]
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

driver=qemu
while [ $# -gt 0 ]; do
  case "$1" in
    --driver) driver=${2:-}; shift 2 || die "--driver needs a value" ;;
    --driver=*) driver=${1#--driver=}; shift ;;
    *) die "unknown argument '$1' (usage: lab up [--driver qemu|nspawn])" ;;
  esac
done
case "$driver" in qemu | nspawn) ;; *) die "--driver must be qemu or nspawn, not '$driver'" ;; esac

mkdir -p "$LAB_HOME" "$LAB_RUN"
started=$(date +%s)

common_tools=(ip:iproute2 ssh:openssh-client ssh-keygen:openssh-client curl:curl jq:jq
  mmdebstrap:mmdebstrap mkfs.ext4:e2fsprogs mountpoint:util-linux sysctl:procps)
if [ "$driver" = qemu ]; then
  ensure_tools "${common_tools[@]}" qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils \
    qemu-storage-daemon:qemu-system-common
else
  ensure_tools "${common_tools[@]}" systemd-nspawn:systemd-container
fi

# Running (every recorded process alive, network in place) is reused even if a host does
# not answer yet: a guest rebooting or a test breaking sshd on purpose is not a stale lab,
# and tearing it down would lose its state. Anything else left behind is cleaned.
reuse=0
if [ -f "$LAB_RUN/driver" ]; then
  current=$(cat "$LAB_RUN/driver")
  if "$LAB_SRC/status.sh" --running; then
    [ "$current" = "$driver" ] ||
      die "the lab is up with the $current driver; run 'npm run lab:down' before switching to $driver"
    if "$LAB_SRC/status.sh" --quiet; then
      log "lab already up ($driver), healthy"
      exit 0
    fi
    log "lab is running ($driver) but not every host answers yet: waiting for it"
    reuse=1
  else
    log "found a stale lab ($current, some of its processes or links are gone): cleaning it up first"
  fi
fi

if [ "$reuse" -eq 0 ]; then
  "$LAB_SRC/down.sh" --quiet
  "$LAB_SRC/mock.sh" check
  image=$("$LAB_SRC/image/build.sh")
  log "image: $image ($(du -sh "$image" | cut -f1))"
  "$LAB_SRC/hostkeys.sh" known-hosts

  "$LAB_SRC/net.sh" up "$driver"
  echo "$driver" >"$LAB_RUN/driver"
  echo "$image" >"$LAB_RUN/image"
  if [ "$driver" = qemu ]; then
    "$LAB_SRC/driver-qemu.sh" accel "$image" >"$LAB_RUN/accel"
    log "qemu accelerator: $(cat "$LAB_RUN/accel")"
  fi

  for host in "${LAB_HOSTS[@]}"; do
    # Keep the previous boot's console for a post-mortem.
    [ ! -f "$LAB_RUN/$host.console.log" ] || mv "$LAB_RUN/$host.console.log" "$LAB_RUN/$host.console.log.1"
    log "starting $host (${LAB_ADDR[$host]}) with $driver"
    "$LAB_SRC/driver-$driver.sh" start "$host" "$image"
  done
  "$LAB_SRC/mock.sh" start
fi

# A VM under TCG boots in about a minute; a container in seconds.
timeout_s=${LAB_UP_TIMEOUT:-$([ "$driver" = qemu ] && echo 600 || echo 120)}
deadline=$(($(date +%s) + timeout_s))
pending=("${LAB_HOSTS[@]}" okome-orch)
declare -A last_error=()
last_report=0
while [ ${#pending[@]} -gt 0 ]; do
  still=()
  for host in "${pending[@]}"; do
    if [ "$host" = okome-orch ]; then
      recorded_pid_alive "$LAB_RUN/okome-orch.pid" ||
        die "the mock orchestrator exited; see $LAB_RUN/okome-orch.log"
      if routes_via_bridge "$LAB_ORCH_ADDR" && mock_probe; then
        log "okome-orch: mock answers http://$LAB_ORCH_ADDR:$LAB_ORCH_PORT/health"
      else
        still+=("$host")
      fi
      continue
    fi
    pid_file=$LAB_RUN/$host/vm.pid
    [ "$driver" = nspawn ] && pid_file=$LAB_RUN/$host/supervisor.pid
    recorded_pid_alive "$pid_file" ||
      die "$host: its $driver process exited during boot; see $LAB_RUN/$host.console.log"
    routes_via_bridge "${LAB_ADDR[$host]}" || die "${LAB_ADDR[$host]} does not route via $LAB_BRIDGE"
    if err=$(ssh_probe "${LAB_ADDR[$host]}"); then
      log "$host: sshd answers on ${LAB_ADDR[$host]} with the pinned host key ($(($(date +%s) - started))s)"
    elif grep -qi "host key" <<<"$err"; then
      die "$host: its host key is not the pinned one in $LAB_HOME/known_hosts: $err"
    else
      last_error[$host]=$(tail -n1 <<<"$err" | tr -d '\r')
      [ "$driver" != nspawn ] || "$LAB_SRC/driver-nspawn.sh" heal "$host"
      still+=("$host")
    fi
  done
  pending=("${still[@]}")
  [ ${#pending[@]} -eq 0 ] && break
  now=$(date +%s)
  if [ "$now" -ge "$deadline" ]; then
    for host in "${pending[@]}"; do
      if [ "$host" = okome-orch ]; then
        log "okome-orch: mock did not answer /health; see $LAB_RUN/okome-orch.log"
      else
        log "$host (${LAB_ADDR[$host]}): sshd did not answer within ${timeout_s}s (last: ${last_error[$host]:-none}); see $LAB_RUN/$host.console.log"
      fi
    done
    die "lab up failed (the lab is left running for inspection; 'npm run lab:down' removes it)"
  fi
  if [ $((now - last_report)) -ge 10 ]; then
    log "waiting for ${pending[*]} ($((now - started))s)"
    last_report=$now
  fi
  sleep 2
done

"$LAB_SRC/hostkeys.sh" hosts-json "$driver"
log "lab up with $driver in $(($(date +%s) - started))s"
"$LAB_SRC/status.sh"
