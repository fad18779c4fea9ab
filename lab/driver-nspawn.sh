#!/usr/bin/env bash
# nspawn driver: each lab host is a systemd-nspawn container booting the golden image
# through its own overlay (writes go to $OKOME_HOME/lab/run/<host>/upper), inside the
# host's network namespace.
#   driver-nspawn.sh start <host> <image dir>
#   driver-nspawn.sh stop <host>
#   driver-nspawn.sh poweroff <host>   a power cut (KILL); the overlay stays
#   driver-nspawn.sh poweron <host>    boot again on that overlay
#   driver-nspawn.sh heal <host>   (start again units that nspawn's cgroups failed)
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

# systemd is not PID 1 on the machine: no registration with machined and no scope unit.
# --network-namespace-path drops CAP_NET_ADMIN and keeps /proc/sys/net read-only unless
# asked; keepalived (VIP, VRRP) and networkd need both. --console=read-only gives the guest
# a tty, so systemd prints its boot progress into the console log.
run_container() {
  SYSTEMD_NSPAWN_API_VFS_WRITABLE=network exec systemd-nspawn --boot \
    --register=no --keep-unit --machine="$1" --directory="$2" \
    --network-namespace-path="/run/netns/$1" --capability=CAP_NET_ADMIN \
    --console=read-only --link-journal=no --resolv-conf=off --timezone=off </dev/null
}

# Supervisor: a guest `reboot` makes nspawn exit 133; start the container again, as
# systemd-nspawn@.service would. TERM stops the container (nspawn asks its init to halt).
supervise() {
  local host=$1 root=$2 child='' rc stopping=0
  trap 'stopping=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true' TERM INT
  while :; do
    run_container "$host" "$root" &
    child=$!
    record_pid "$LAB_RUN/$host/nspawn.pid" "$child"
    rc=0
    while kill -0 "$child" 2>/dev/null; do wait "$child" || rc=$?; done
    [ "$stopping" -eq 0 ] && [ "$rc" -eq 133 ] || exit "$rc"
    echo "[lab] $host rebooted (nspawn exit 133), starting it again"
  done
}

start() {
  local host=$1 image=$2 dir=$LAB_RUN/$1
  mkdir -p "$dir/upper" "$dir/work" "$dir/root"
  mount -t overlay overlay \
    -o "lowerdir=$image/rootfs,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
  "$LAB_SRC/personalize.sh" "$dir/root" "$host"
  # Inside a container systemd cannot kill a whole cgroup, so stopping the deploy user's
  # manager after its last SSH session hangs for its 2 min timeout, and logins stall behind
  # it. Lingering keeps that manager up.
  mkdir -p "$dir/root/var/lib/systemd/linger"
  : >"$dir/root/var/lib/systemd/linger/okome"
  boot "$host"
}

# Boots the host's container on its overlay as it is (a first boot, or a power-on).
boot() {
  local host=$1 dir=$LAB_RUN/$1
  setsid "$0" supervise "$host" "$dir/root" >>"$LAB_RUN/$host.console.log" 2>&1 &
  record_pid "$dir/supervisor.pid" "$!"
}

# A power cut: everything in the container dies at once. Its init (PID 1 there) is killed, which
# takes every process of its PID namespace; nspawn then exits, and the supervisor, killed first,
# does not start it again. The overlay stays.
poweroff() {
  local dir=$LAB_RUN/$1 nspawn init
  recorded_pid_alive "$dir/nspawn.pid" || die "$1 is not running"
  nspawn=$(recorded_pid "$dir/nspawn.pid")
  init=$(ps -o pid= --ppid "$nspawn" | head -n1 | tr -d ' ')
  # KILL, not TERM: the supervisor's TERM would halt the container cleanly.
  ! recorded_pid_alive "$dir/supervisor.pid" || kill -KILL "$(recorded_pid "$dir/supervisor.pid")"
  rm -f "$dir/supervisor.pid"
  [ -z "$init" ] || kill -KILL "$init"
  stop_recorded "$dir/nspawn.pid" 5
  rmdir "/run/systemd/nspawn/propagate/$1" 2>/dev/null || true
}

stop() {
  local host=$1 dir=$LAB_RUN/$1
  # The container's systemd needs a few seconds to halt; then force it.
  stop_recorded "$dir/supervisor.pid" 30
  stop_recorded "$dir/nspawn.pid" 5
  ! mountpoint -q "$dir/root" || umount "$dir/root" || umount -l "$dir/root"
  # nspawn cannot remove its propagation directory when /run is not a tmpfs.
  rmdir "/run/systemd/nspawn/propagate/$host" 2>/dev/null || true
}

# A container's systemd on this machine's cgroup v1 hierarchy now and then fails to move a
# unit's process into its cgroup (exit status 219/CGROUP). A unit lost that way at boot can
# block logins (systemd-user-sessions leaves /run/nologin), so restart each such unit once;
# a unit that failed on its own merits keeps its failure.
heal() {
  local host=$1 nspawn init unit status
  recorded_pid_alive "$LAB_RUN/$host/nspawn.pid" || return 0
  nspawn=$(recorded_pid "$LAB_RUN/$host/nspawn.pid")
  init=$(ps -o pid= --ppid "$nspawn" | head -n1 | tr -d ' ')
  [ -n "$init" ] || return 0
  in_guest() { nsenter --target "$init" --mount --pid -- "$@"; }
  while read -r unit; do
    status=$(in_guest systemctl show --property=ExecMainStatus --value "$unit" 2>/dev/null) || continue
    [ "$status" = 219 ] || continue
    log "$host: $unit failed with 219/CGROUP (the container's cgroup setup), starting it again"
    in_guest systemctl restart "$unit" || log "$host: $unit failed again; see 'systemctl status $unit' there"
  done < <(in_guest systemctl list-units --failed --plain --no-legend 2>/dev/null | awk '{print $1}')
}

case "${1:-}" in
  heal) heal "${2:?host}" ;;
  start) start "${2:?host}" "${3:?image dir}" ;;
  stop) stop "${2:?host}" ;;
  poweroff) poweroff "${2:?host}" ;;
  poweron) boot "${2:?host}" ;;
  supervise) supervise "${2:?host}" "${3:?root}" ;;
  *) die "usage: driver-nspawn.sh start <host> <image dir> | stop <host> | poweroff <host> | poweron <host> | heal <host>" ;;
esac
