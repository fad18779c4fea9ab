#!/usr/bin/env bash
# mmdebstrap essential hook: runs before the kernel is installed, so its initramfs is built
# small (only what a virtio guest needs) instead of with every storage driver.
set -euo pipefail
root=$1
mkdir -p "$root/etc/initramfs-tools/conf.d"
echo 'MODULES=list' >"$root/etc/initramfs-tools/conf.d/okome-lab.conf"
printf '%s\n' virtio_pci virtio_blk virtio_net virtio_rng ext4 >>"$root/etc/initramfs-tools/modules"
