#!/usr/bin/env bash
# Make a mounted copy of the golden image into one lab host before its first boot: host
# name, static address (no gateway: nothing lies beyond the lab bridge) and its host key.
#   personalize.sh <root dir> <host>
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

root=${1:?root dir}
host=${2:?host}
addr=${LAB_ADDR[$host]:?unknown host $host}

echo "$host" >"$root/etc/hostname"
{
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$host"
  for peer in okome-model okome-edge okome-orch; do printf '%s\t%s\n' "${LAB_ADDR[$peer]}" "$peer"; done
} >"$root/etc/hosts"

cat >"$root/etc/systemd/network/10-okome-lab.network" <<NETWORK
# Written by lab/personalize.sh: static lab address, IPv4 only, no default route.
[Match]
Name=eth0

[Network]
Address=$addr/24
LinkLocalAddressing=no
IPv6AcceptRA=no
NETWORK

install -m 0600 "$LAB_HOME/hostkeys/$host/ssh_host_ed25519_key" "$root/etc/ssh/ssh_host_ed25519_key"
install -m 0644 "$LAB_HOME/hostkeys/$host/ssh_host_ed25519_key.pub" "$root/etc/ssh/ssh_host_ed25519_key.pub"
