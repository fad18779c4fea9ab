#!/usr/bin/env bash
# Lab network: bridge okbr0 (10.86.0.1/24) in the root namespace and one network namespace
# per lab host, joined to the bridge by a veth pair. Nothing routes past the bridge: the
# bridge does not forward, there is no NAT, and the lab hosts get no default route.
#   net.sh up nspawn|qemu   create everything (the caller has cleaned up first)
#   net.sh down             remove everything, whatever state a killed run left behind
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

NAMESPACES=(okome-model okome-edge okome-orch)

# IPv4 only: the lab has no IPv6 plan, so no router solicitations or MLD chatter either.
no_ipv6() { sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" 2>/dev/null || true; }

add_namespace() {
  local host=$1 driver=$2 ns=$1 short=${LAB_SHORT[$1]} peer
  ip netns add "$ns"
  ip netns exec "$ns" sh -c 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true'
  ip -n "$ns" link set lo up
  # nspawn and the orchestrator use the veth directly as eth0; a VM needs a tap instead,
  # bridged to the veth inside the namespace so the guest sits on okbr0's L2 segment.
  peer=eth0
  [ "$driver" = qemu ] && [ "$host" != okome-orch ] && peer=uplink
  ip link add "okv-$short" type veth peer name "$peer" netns "$ns"
  no_ipv6 "okv-$short"
  ip link set "okv-$short" master "$LAB_BRIDGE" up
  if [ "$peer" = uplink ]; then
    ip -n "$ns" link add br0 type bridge
    ip -n "$ns" tuntap add dev tap0 mode tap
    ip -n "$ns" link set uplink master br0 up
    ip -n "$ns" link set tap0 master br0 up
    ip -n "$ns" link set br0 up
  fi
  if [ "$host" = okome-orch ]; then
    ip -n "$ns" addr add "$LAB_ORCH_ADDR/24" dev eth0
    ip -n "$ns" link set eth0 up
  fi
}

up() {
  local driver=$1 ns
  ip link add "$LAB_BRIDGE" type bridge
  no_ipv6 "$LAB_BRIDGE"
  # Per-interface switch: packets that arrive from the lab are never forwarded, even if
  # this machine has ip_forward on for something else.
  sysctl -qw "net.ipv4.conf.$LAB_BRIDGE.forwarding=0"
  ip addr add "$LAB_GATEWAY/24" dev "$LAB_BRIDGE"
  ip link set "$LAB_BRIDGE" up
  for ns in "${NAMESPACES[@]}"; do add_namespace "$ns" "$driver"; done
}

down() {
  local ns pids short
  for ns in "${NAMESPACES[@]}"; do
    [ -e "/run/netns/$ns" ] || continue
    # Only what a killed run left inside a namespace the lab created (recorded pids are
    # stopped before this by down.sh).
    pids=$(ip netns pids "$ns" || true)
    if [ -n "$pids" ]; then
      log "stopping leftover processes in $ns: $(echo "$pids" | paste -sd' ')"
      # shellcheck disable=SC2086 # one pid per word
      kill -TERM $pids 2>/dev/null || true
      sleep 2
      pids=$(ip netns pids "$ns" || true)
      # shellcheck disable=SC2086
      [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$ns"
  done
  for short in "${LAB_SHORT[@]}"; do
    ! ip link show "okv-$short" >/dev/null 2>&1 || ip link del "okv-$short"
  done
  ! ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || ip link del "$LAB_BRIDGE"
}

case "${1:-}" in
  up) up "${2:?driver}" ;;
  down) down ;;
  *) die "usage: net.sh up nspawn|qemu | down" ;;
esac
