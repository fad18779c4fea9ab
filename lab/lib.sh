# shellcheck shell=bash
# shellcheck disable=SC2034 # variables are used by the scripts that source this file
# Shared paths, the address plan and small helpers for the lab scripts (sourced, not run).

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LAB_SRC/.." && pwd)
OKOME_HOME=${OKOME_HOME:-$HOME/.okome}
LAB_HOME=$OKOME_HOME/lab
LAB_RUN=$LAB_HOME/run
LAB_KEY=$LAB_HOME/keys/id_ed25519

LAB_BRIDGE=okbr0
LAB_NET=10.86.0
LAB_GATEWAY=$LAB_NET.1
LAB_ORCH_NS=okome-orch
LAB_ORCH_ADDR=$LAB_NET.25
LAB_ORCH_PORT=8000
LAB_USER=okome
# Lab hosts in boot order; the VIP (.18) belongs to keepalived, not to the lab.
LAB_HOSTS=(okome-model okome-edge)
declare -A LAB_ADDR=([okome-model]=$LAB_NET.19 [okome-edge]=$LAB_NET.20 [okome-orch]=$LAB_ORCH_ADDR)
# Short names keep root-namespace interface names under the kernel's 15-character limit.
declare -A LAB_SHORT=([okome-model]=model [okome-edge]=edge [okome-orch]=orch)

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "the lab needs root (network namespaces, mounts, /dev/net/tun)"; }

# Install Debian packages that provide the given commands, only when one is missing.
# Arguments are command:package pairs.
ensure_tools() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing from apt: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$LAB_HOME/apt.log" 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$LAB_HOME/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$LAB_HOME/apt.log" 2>&1 ||
      die "apt-get install ${missing[*]} failed, see $LAB_HOME/apt.log"
  fi
}

# Accept edge/model/orch or the full host name; print the full name.
host_name() {
  case "$1" in
    edge | okome-edge) echo okome-edge ;;
    model | okome-model) echo okome-model ;;
    orch | okome-orch) echo okome-orch ;;
    *) return 1 ;;
  esac
}

# True only when the kernel would send traffic for $1 over the lab bridge; every probe
# checks this first so that a missing bridge never sends lab traffic to the default route.
routes_via_bridge() {
  ip -o route get "$1" 2>/dev/null | grep -q " dev $LAB_BRIDGE "
}

# pid file helpers: a pid counts only while that process is alive and is the one we started
# (its start time matches the one recorded), so a recycled pid is never signalled.
# A zombie counts as gone: the machine's PID 1 may never reap it.
pid_start() {
  local stat rest fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  rest=${stat##*) }
  read -r -a fields <<<"$rest"
  [ "${fields[0]}" = Z ] || echo "${fields[19]}"
}
record_pid() { printf '%s %s\n' "$2" "$(pid_start "$2")" >"$1"; }
recorded_pid_alive() {
  local pid start
  [ -f "$1" ] || return 1
  read -r pid start <"$1" || return 1
  [ -n "$pid" ] && [ "$(pid_start "$pid")" = "$start" ] && [ -n "$start" ]
}
recorded_pid() { awk '{print $1}' "$1"; }

# Stop the process recorded in a pid file: TERM, wait, then KILL; remove the file.
stop_recorded() {
  local file=$1 wait_s=${2:-20} pid i
  if recorded_pid_alive "$file"; then
    pid=$(recorded_pid "$file")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < wait_s * 10; i++)); do
      recorded_pid_alive "$file" || break
      sleep 0.1
    done
    if recorded_pid_alive "$file"; then
      log "pid $pid ($file) ignored TERM, killing"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$file"
}

# Mount points under the lab directory, deepest first.
lab_mounts() {
  awk -v d="$LAB_HOME/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r
}

# One login as the deploy user with the pinned key; prints ssh's messages. Bounded: a
# login that hangs (sshd busy or locked out) counts as not answering.
ssh_probe() {
  local args
  mapfile -t args < <(ssh_opts)
  timeout 20 ssh "${args[@]}" "$LAB_USER@$1" true 2>&1
}

mock_probe() {
  curl -fsS --max-time 3 "http://$LAB_ORCH_ADDR:$LAB_ORCH_PORT/health" >/dev/null 2>&1
}

ssh_opts() {
  printf '%s\n' -i "$LAB_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$LAB_HOME/known_hosts" \
    -o ConnectTimeout=5 -o LogLevel=ERROR
}
