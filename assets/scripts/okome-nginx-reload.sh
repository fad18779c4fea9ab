#!/usr/bin/env bash
# okome-nginx-reload: reloads nginx onto okome's config, and restarts it when the reload cannot
# take it. A reload keeps the old config when the new one cannot bind a socket the old one holds
# (127.0.0.1:8089 while the old config listens on *:8089), and `systemctl reload` still
# succeeds: it only signals the master. A restart drops the old sockets first.
#   okome-nginx-reload <health URL> <node> <okome's server file> <error log>
# Exits 0 once nginx answers the health URL as <node>, or when okome's server file is gone (the
# config set was removed: Debian's config is the one to serve). Installed by okome-cache
# (components/EdgeCacheNode.ts).
set -euo pipefail
me=okome-nginx-reload
[ $# -eq 4 ] || {
  echo "usage: $me <health URL> <node> <okome's server file> <error log>" >&2
  exit 2
}
url=$1 node=$2 server_file=$3 error_log=$4

serves_okome() {
  curl -fsS -D - -o /dev/null --max-time 2 "$url" 2>/dev/null | grep -qi "^x-okome-node: ${node}[[:space:]]"
}

systemctl enable --quiet nginx
systemctl reload-or-restart nginx
[ -f "$server_file" ] || exit 0
for _ in $(seq 1 20); do
  serves_okome && exit 0
  sleep 0.25
done
echo "$me: $node: nginx kept its previous config after the reload:"
tail -n 3 "$error_log" || true
echo "$me: $node: restarting nginx to take the new one"
systemctl restart nginx
