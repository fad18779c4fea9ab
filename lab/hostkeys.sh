#!/usr/bin/env bash
# Per-host SSH host keys, generated once and kept in $OKOME_HOME/lab/hostkeys/<host>/ so a
# host keeps its identity across `lab down`/`up`, and the files the lab Pulumi stack reads
# (format in lab/README.md). Both exist only while the lab is up: `down` removes them, so a
# consumer never takes a leftover file for a running lab.
#   hostkeys.sh known-hosts          $OKOME_HOME/lab/known_hosts, "10.86.0.20 ssh-ed25519 AAAA..."
#   hostkeys.sh hosts-json <driver>  $OKOME_HOME/lab/hosts.json, written once the lab answers
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

ensure_hostkey() {
  local dir=$LAB_HOME/hostkeys/$1
  [ -f "$dir/ssh_host_ed25519_key" ] && return 0
  mkdir -p "$dir"
  chmod 0700 "$dir"
  ssh-keygen -q -t ed25519 -N '' -C "root@$1" -f "$dir/ssh_host_ed25519_key"
}

host_key() { cut -d' ' -f1,2 "$LAB_HOME/hostkeys/$1/ssh_host_ed25519_key.pub"; }

known_hosts() {
  local host
  for host in "${LAB_HOSTS[@]}"; do
    ensure_hostkey "$host"
    printf '%s %s\n' "${LAB_ADDR[$host]}" "$(host_key "$host")"
  done >"$LAB_HOME/known_hosts.tmp"
  mv "$LAB_HOME/known_hosts.tmp" "$LAB_HOME/known_hosts"
}

hosts_json() {
  local driver=$1 host hosts='{}'
  for host in "${LAB_HOSTS[@]}"; do
    hosts=$(jq -c --arg h "$host" --arg a "${LAB_ADDR[$host]}" --arg u "$LAB_USER" \
      --arg k "$(host_key "$host")" '. + {($h): {address: $a, user: $u, hostKey: $k}}' <<<"$hosts")
  done
  jq -n --arg d "$driver" --argjson hosts "$hosts" --arg key "$LAB_KEY" \
    --arg orch "$LAB_ORCH_ADDR:$LAB_ORCH_PORT" \
    '{driver: $d, hosts: $hosts, privateKeyPath: $key, orchestrator: $orch}' >"$LAB_HOME/hosts.json.tmp"
  mv "$LAB_HOME/hosts.json.tmp" "$LAB_HOME/hosts.json"
}

case "${1:-}" in
  known-hosts) known_hosts ;;
  hosts-json) hosts_json "${2:?driver}" ;;
  *) die "usage: hostkeys.sh known-hosts | hosts-json nspawn|qemu" ;;
esac
