#!/usr/bin/env bash
# Per-host SSH host keys, generated once and kept in $OKOME_HOME/lab/hostkeys/<host>/ so a
# host keeps its identity across `lab down`/`up`, and the files the lab Pulumi stack reads:
#   $OKOME_HOME/lab/known_hosts   "10.86.0.20 ssh-ed25519 AAAA..." per host
#   $OKOME_HOME/lab/hosts.json    driver, hosts (address, user, hostKey), privateKeyPath,
#                                 orchestrator (format documented in lab/README.md)
#   hostkeys.sh publish nspawn|qemu
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

publish() {
  local driver=$1 host key hosts='{}'
  : >"$LAB_HOME/known_hosts.tmp"
  for host in "${LAB_HOSTS[@]}"; do
    ensure_hostkey "$host"
    key=$(cut -d' ' -f1,2 "$LAB_HOME/hostkeys/$host/ssh_host_ed25519_key.pub")
    printf '%s %s\n' "${LAB_ADDR[$host]}" "$key" >>"$LAB_HOME/known_hosts.tmp"
    hosts=$(jq -c --arg h "$host" --arg a "${LAB_ADDR[$host]}" --arg u "$LAB_USER" --arg k "$key" \
      '. + {($h): {address: $a, user: $u, hostKey: $k}}' <<<"$hosts")
  done
  jq -n --arg d "$driver" --argjson hosts "$hosts" --arg key "$LAB_KEY" \
    --arg orch "$LAB_ORCH_ADDR:$LAB_ORCH_PORT" \
    '{driver: $d, hosts: $hosts, privateKeyPath: $key, orchestrator: $orch}' >"$LAB_HOME/hosts.json.tmp"
  mv "$LAB_HOME/known_hosts.tmp" "$LAB_HOME/known_hosts"
  mv "$LAB_HOME/hosts.json.tmp" "$LAB_HOME/hosts.json"
}

case "${1:-}" in
  publish) publish "${2:?driver}" ;;
  *) die "usage: hostkeys.sh publish nspawn|qemu" ;;
esac
