#!/usr/bin/env bash
# Debian packages the tests and the lab need on this machine (not on the Pis: see lab/).
set -euo pipefail

packages=(
  redis-server   # okome/ tests start their own throw-away servers
  openssh-client
  openssh-server # providers/ tests start their own sshd on 127.0.0.1 (never the system one)
  shellcheck
  iproute2       # `ip` for the model cache's host scripts (test/unit/redisScripts); `tc` netem (vip-pair)
  # create-golden-image.sh and its test (test/lab/golden-image.test.ts): loop-backed cards
  fdisk parted e2fsprogs util-linux
  dosfstools mtools # the card's FAT boot partition, written without mounting (this kernel has no vfat)
  qemu-system-x86   # boots the restored card
  # test/support/wireguardPeer.ts: `wg` configures the userspace peers (wireguard-go), ping
  # goes through their tunnels
  wireguard-tools iputils-ping
  curl # test/lab/edge-cache.test.ts: clients in lab netns (rate limits, the status page)
  wrk  # bench/edge-hit.sh: HIT throughput and latency of the edge
  python3 # test/lab/tools/vrrp-advert.py: a stranger's VRRP adverts (test/lab/vip-pair.test.ts)
  prometheus # promtool: test/unit/prometheusConfig.test.ts checks assets/prometheus (the daemon stays off)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "[packages] all present"
  exit 0
fi
echo "[packages] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian starts daemons (redis-server) on install; the tests want only the servers they start.
# policy-rc.d exit 101 is Debian's switch for "do not start services now".
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Only promtool is wanted from prometheus: its postinst enables the daemon for the next boot.
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
