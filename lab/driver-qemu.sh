#!/usr/bin/env bash
# qemu driver (the lab of record): each lab host is a VM with its own kernel, booting a
# qcow2 overlay on the golden image's ext4 disk. Its NIC is tap0 inside the host's network
# namespace, bridged there to the veth on okbr0, so the guest owns its address on the same
# L2 segment as the other hosts (VRRP works between them).
#   driver-qemu.sh start <host> <image dir>
#   driver-qemu.sh stop <host>
#   driver-qemu.sh poweroff <host>      a power cut (KILL); the disk stays
#   driver-qemu.sh poweron <host>       boot again on that disk
#   driver-qemu.sh accel <image dir>     print kvm or tcg (KVM only if a guest really runs)
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_root

VM_MEMORY=${LAB_VM_MEMORY:-1024}

# /dev/kvm may exist while guests cannot run (nested virtualisation): boot the lab kernel
# without a root disk and accept KVM only if it reaches its panic within a few seconds.
accel() {
  local image=$1 out
  case "${LAB_QEMU_ACCEL:-}" in kvm | tcg) echo "$LAB_QEMU_ACCEL"; return 0 ;; esac
  if [ -w /dev/kvm ]; then
    out=$(timeout 15 qemu-system-x86_64 -accel kvm -cpu host -machine q35 -m 256 -nodefaults \
      -no-user-config -display none -no-reboot -serial stdio -kernel "$image/vmlinuz" \
      -append "console=ttyS0 panic=-1 root=/dev/null" 2>&1 </dev/null || true)
    if grep -q "Kernel panic" <<<"$out"; then echo kvm; return 0; fi
  fi
  echo tcg
}

# Write the per-host files into the overlay before first boot: export the qcow2 as a raw
# file over FUSE, loop-mount it, personalize, and take it all down again.
personalize_disk() {
  local host=$1 dir=$2
  touch "$dir/export.raw"
  mkdir -p "$dir/mnt"
  qemu-storage-daemon \
    --blockdev "driver=file,node-name=file0,filename=$dir/disk.qcow2" \
    --blockdev driver=qcow2,node-name=disk0,file=file0 \
    --export "type=fuse,id=exp0,node-name=disk0,mountpoint=$dir/export.raw,writable=on" \
    --pidfile "$dir/qsd.pidfile" --daemonize
  record_pid "$dir/qsd.pid" "$(cat "$dir/qsd.pidfile")"
  mount -o loop "$dir/export.raw" "$dir/mnt"
  "$LAB_SRC/personalize.sh" "$dir/mnt" "$host"
  umount "$dir/mnt"
  # TERM makes the daemon flush the qcow2; it leaves the FUSE mount point behind.
  stop_recorded "$dir/qsd.pid" 10
  ! mountpoint -q "$dir/export.raw" || umount "$dir/export.raw"
  rm -f "$dir/export.raw"
  rmdir "$dir/mnt"
}

start() {
  local host=$1 image=$2 dir=$LAB_RUN/$1
  mkdir -p "$dir"
  qemu-img create -q -f qcow2 -F raw -b "$image/disk.raw" "$dir/disk.qcow2"
  personalize_disk "$host" "$dir"
  echo "$image" >"$dir/image"
  boot "$host"
}

# Boots the host's VM on its disk as it is (a first boot, or a power-on after a power cut).
boot() {
  local host=$1 dir=$LAB_RUN/$1 image accel cpu mac
  image=$(cat "$dir/image")
  accel=$(cat "$LAB_RUN/accel")
  cpu=max
  [ "$accel" = kvm ] && cpu=host
  mac=52:54:00:56:00:${LAB_ADDR[$host]##*.}
  # One vCPU per VM: under TCG two VMs already fill the machine's two cores.
  ip netns exec "$host" qemu-system-x86_64 -name "$host" -machine q35 -accel "$accel" \
    -cpu "$cpu" -smp 1 -m "$VM_MEMORY" -nodefaults -no-user-config -display none \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
    -append "console=ttyS0 root=/dev/vda rw net.ifnames=0 panic=10" \
    -drive "file=$dir/disk.qcow2,if=virtio,format=qcow2,discard=unmap" \
    -netdev tap,id=net0,ifname=tap0,script=no,downscript=no \
    -device "virtio-net-pci,netdev=net0,mac=$mac" \
    -device virtio-rng-pci \
    -serial "file:$LAB_RUN/$host.console.log" \
    -pidfile "$dir/qemu.pidfile" -daemonize
  record_pid "$dir/vm.pid" "$(cat "$dir/qemu.pidfile")"
}

stop() {
  local host=$1 dir=$LAB_RUN/$1 m
  # The overlay is thrown away, so a hard stop (TERM: qemu exits at once) loses nothing.
  stop_recorded "$dir/vm.pid" 10
  stop_recorded "$dir/qsd.pid" 10
  for m in "$dir/mnt" "$dir/export.raw"; do
    ! mountpoint -q "$m" 2>/dev/null || umount "$m" || umount -l "$m"
  done
}

# A power cut: the VM dies at once (KILL), its disk stays for poweron.
poweroff() {
  local dir=$LAB_RUN/$1 pid
  recorded_pid_alive "$dir/vm.pid" || die "$1 is not running"
  pid=$(recorded_pid "$dir/vm.pid")
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$dir/vm.pid"
}

case "${1:-}" in
  start) start "${2:?host}" "${3:?image dir}" ;;
  stop) stop "${2:?host}" ;;
  poweroff) poweroff "${2:?host}" ;;
  poweron) boot "${2:?host}" ;;
  accel) accel "${2:?image dir}" ;;
  *) die "usage: driver-qemu.sh start <host> <image dir> | stop <host> | poweroff <host> | poweron <host> | accel <image dir>" ;;
esac
