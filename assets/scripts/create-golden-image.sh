#!/usr/bin/env bash
# Golden image for the cache Pis (Phase 0): clone a hardened SD card into an image file and
# write it back to new cards. Runs on an admin Linux machine with the card in a reader, as
# root. Never on a Pi itself (it refuses the disk it is running from anyway).
#
#   create-golden-image.sh capture <device> <image.img> [--no-shrink] [--keep-identity]
#       Copy the card up to the end of its last partition, verify the copy by checksum,
#       shrink the root filesystem and partition to their minimum (pishrink-style), strip the
#       per-host identity (SSH host keys, machine-id; regenerated at first boot) and the secrets
#       that `pulumi up` deployed (Redis passwords and ACL hashes, WireGuard keys), and write
#       <image.img>.sha256.
#   create-golden-image.sh restore <image.img> <device> [--hostname NAME] [--no-grow]
#       Check the image against its .sha256, write it, read it back and compare, then grow
#       the root partition and filesystem to fill the card and set the host name.
#   create-golden-image.sh verify <image.img>
#
# Safety: the device must be a whole disk, none of its partitions mounted or used as swap or
# by LVM/RAID, not the disk holding /, /boot or /boot/firmware of this machine, removable or
# on a USB/MMC bus (--allow-fixed overrides only that), and at most --max-size (default
# 512G); writing asks for the device path to be typed back unless --yes. --allow-loop also
# accepts a loop device over an image file (a card image, for trials and tests: losetup
# --find --show card.img); every other check still applies to it.
set -euo pipefail

MAX_SIZE=512G
YES=0
ALLOW_FIXED=0
ALLOW_LOOP=0
SHRINK=1
GENERALIZE=1
GROW=1
HOSTNAME_SET=''
# Free space left in the shrunk root filesystem, in MiB: first boot needs room for logs,
# new host keys and the machine-id before the filesystem is grown on the card.
SHRINK_MARGIN_MIB=256

CLEANUP_MOUNTS=()
CLEANUP_LOOPS=()
LOOP=''
LOOP_FILE=''
MNT=

log() { printf '[golden-image] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

cleanup() {
  local m l
  for m in "${CLEANUP_MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done
  for m in "${CLEANUP_MOUNTS[@]}"; do rmdir "$m" 2>/dev/null || true; done
  for l in "${CLEANUP_LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
}
trap cleanup EXIT

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 2
}

require_tools() {
  local t
  for t in lsblk findmnt blkid blockdev sfdisk losetup e2fsck resize2fs dumpe2fs sha256sum dd \
    partprobe partx numfmt; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt install util-linux fdisk e2fsprogs parted coreutils)"
  done
}

size_bytes() { numfmt --from=iec "$1"; }

# The whole-disk device holding a mounted path, e.g. /dev/sda for / on /dev/sda2.
disk_of_mount() {
  local source disk
  source=$(findmnt -n -o SOURCE --target "$1" 2>/dev/null) || return 0
  [ -b "$source" ] || return 0
  disk=$(lsblk -n -d -o PKNAME "$source" 2>/dev/null | head -n1)
  if [ -n "$disk" ]; then echo "/dev/$disk"; else readlink -f "$source"; fi
}

# Refuse anything that is not a card we may overwrite or read consistently.
check_device() {
  local dev=$1 name type size max part mounts
  [ -b "$dev" ] || die "$dev is not a block device"
  dev=$(readlink -f "$dev")
  name=$(basename "$dev")
  type=$(lsblk -n -d -o TYPE "$dev" 2>/dev/null) || die "lsblk cannot read $dev (no medium in the reader?)"
  case "$type" in
    disk) ;;
    loop)
      [ "$ALLOW_LOOP" -eq 1 ] ||
        die "$dev is a loop, not a whole disk (give /dev/sdX or /dev/mmcblkN, or --allow-loop for a card image)"
      check_loop "$dev"
      ;;
    *) die "$dev is a $type, not a whole disk (give /dev/sdX or /dev/mmcblkN)" ;;
  esac

  local system_path sys_disk
  for system_path in / /boot /boot/firmware /usr /var; do
    sys_disk=$(disk_of_mount "$system_path")
    [ "$sys_disk" != "$dev" ] || die "$dev holds this machine's $system_path: refusing"
  done

  add_partition_nodes "$dev"
  mounts=$(lsblk -n -o MOUNTPOINTS "$dev" 2>/dev/null || lsblk -n -o MOUNTPOINT "$dev")
  [ -z "$(tr -d '[:space:]' <<<"$mounts")" ] ||
    die "$dev has mounted partitions ($(echo "$mounts" | xargs)); unmount them first"
  for part in $(lsblk -n -l -o NAME "$dev"); do
    ! grep -q "^/dev/${part}[[:space:]]" /proc/swaps || die "/dev/$part is in use as swap"
    [ -z "$(ls -A "/sys/class/block/$part/holders" 2>/dev/null)" ] ||
      die "/dev/$part is held by device-mapper/RAID ($(ls "/sys/class/block/$part/holders"))"
  done

  size=$(blockdev --getsize64 "$dev")
  max=$(size_bytes "$MAX_SIZE")
  [ "$size" -le "$max" ] ||
    die "$dev is $(numfmt --to=iec "$size"), larger than --max-size $MAX_SIZE: not an SD card?"
  if [ "$type" = disk ] && [ "$ALLOW_FIXED" -eq 0 ] && [ "$(cat "/sys/block/$name/removable" 2>/dev/null || echo 0)" != 1 ]; then
    case "$(lsblk -n -d -o TRAN "$dev" 2>/dev/null)" in
      usb | mmc) ;;
      *) [[ "$name" == mmcblk* ]] || die "$dev is a fixed, non-USB disk; pass --allow-fixed if it really is the card" ;;
    esac
  fi
  log "$dev: $(lsblk -n -d -o SIZE,MODEL,TRAN "$dev" | xargs)${LOOP_FILE:+ (loop over $LOOP_FILE)}"
}

# A loop stands in for a card only over an image file: over a block device it would get past
# the checks on that disk, and a second loop over the same file (mount -o loop,offset=...)
# could hold a mounted filesystem that the checks on this device do not see.
check_loop() {
  local dev=$1 others
  LOOP_FILE=$(losetup -n -O BACK-FILE "$dev" 2>/dev/null | sed 's/[[:space:]]*$//')
  [ -f "$LOOP_FILE" ] ||
    die "$dev is backed by '${LOOP_FILE:-nothing}', not an image file: --allow-loop takes a loop over a regular file only"
  others=$(losetup -n -O NAME -j "$LOOP_FILE" | { grep -vxF "$dev" || true; } | xargs)
  [ -z "$others" ] || die "$LOOP_FILE (behind $dev) is also attached as $others: detach it (losetup -d) first"
}

# The device node of partition <num> of <dev>. Without udev, or with a kernel that cannot read
# a DOS table (CONFIG_MSDOS_PARTITION off), partitions of a disk or loop get no nodes of their
# own: partx then adds them to the kernel from the table as read in user space.
partition_node() {
  local dev=$1 num=$2 name sys node i
  name=$(basename "$dev")
  for ((i = 0; i < 50; i++)); do
    for sys in /sys/class/block/"$name"/*/partition; do
      [ "$(cat "$sys" 2>/dev/null)" = "$num" ] || continue
      node=/dev/$(basename "$(dirname "$sys")")
      if [ -b "$node" ]; then
        echo "$node"
        return 0
      fi
    done
    [ "$i" -gt 0 ] || partx -a "$dev" 2>/dev/null || true
    sleep 0.1
  done
  die "$dev has no device node for partition $num, even after partx -a $dev (see sfdisk -l $dev)"
}

# The mount, swap and holder checks only see partitions the kernel knows about.
add_partition_nodes() {
  local num
  for num in $(sfdisk -q -l -o Device "$1" 2>/dev/null | tail -n +2 | grep -o '[0-9]*$'); do
    partition_node "$1" "$num" >/dev/null
  done
}

# Give the kernel a rewritten table. partprobe updates its partitions one by one (BLKPG), so
# this works where the kernel cannot parse the table itself; its stderr has udev noise.
reread_partitions() {
  local out
  out=$(partprobe "$1" 2>&1) || die "partprobe $1 failed, the kernel keeps the old partitions: $out"
  udevadm settle 2>/dev/null || true
}

confirm() {
  local dev=$1 what=$2 answer
  [ "$YES" -eq 1 ] && return 0
  [ -t 0 ] || die "not a terminal: pass --yes to $what $dev without a prompt"
  lsblk -o NAME,SIZE,TYPE,FSTYPE,LABEL,MODEL "$dev" >&2
  read -r -p "This will $what $dev. Type the device path to go on: " answer
  [ "$answer" = "$dev" ] || die "not confirmed"
}

# Bytes from the start of the disk to the end of its last partition.
used_bytes() {
  local end
  end=$(sfdisk -q -l -o End "$1" | tail -n +2 | sort -n | tail -n1 | tr -d ' ')
  [ -n "$end" ] || die "$1 has no partitions"
  echo $(((end + 1) * 512))
}

# sha256 of the first <bytes> bytes of a file or device.
sha_prefix() { head -c "$2" "$1" | sha256sum | cut -d' ' -f1; }

# Sets LOOP to a loop device over one partition of an image file (offset and size from its
# table), so no partition scanning by the kernel or udev is needed. Not run in $(...): the
# cleanup list must be updated in this shell.
attach_partition() {
  local img=$1 num=$2 start size
  read -r start size < <(sfdisk -q -l -o Start,Sectors "$img" | tail -n +2 | sed -n "${num}p")
  [ -n "$size" ] || die "$img has no partition $num"
  LOOP=$(losetup --find --show --offset $((start * 512)) --sizelimit $((size * 512)) "$img")
  CLEANUP_LOOPS+=("$LOOP")
}

# Sets MNT to a temporary mount point of $1.
mount_tmp() {
  MNT=$(mktemp -d)
  CLEANUP_MOUNTS=("$MNT" "${CLEANUP_MOUNTS[@]}")
  mount "$1" "$MNT"
}

unmount_tmp() {
  umount "$1"
  rmdir "$1"
  local kept=() m
  for m in "${CLEANUP_MOUNTS[@]}"; do [ "$m" = "$1" ] || kept+=("$m"); done
  CLEANUP_MOUNTS=("${kept[@]}")
}

detach() {
  losetup -d "$1"
  local kept=() l
  for l in "${CLEANUP_LOOPS[@]}"; do [ "$l" = "$1" ] || kept+=("$l"); done
  CLEANUP_LOOPS=("${kept[@]}")
}

last_partition_number() { sfdisk -q -l -o Device "$1" | tail -n +2 | wc -l; }

# pishrink-style: shrink the last (root, ext4) filesystem to its minimum plus a margin,
# then the partition, then the file. MBR only (Raspberry Pi OS cards are MBR).
shrink() {
  local img=$1 part label num start end block_size block_count new_blocks max_blocks part_sectors
  label=$(sfdisk --dump "$img" | sed -n 's/^label: //p')
  [ "$label" = dos ] || {
    log "partition table is $label, not dos: not shrinking"
    return 0
  }
  num=$(last_partition_number "$img")
  # Truncating after a partition that is not the last on disk would cut off the ones behind it.
  end=$(sfdisk -q -l -o End "$img" | tail -n1 | tr -d ' ')
  [ $(((end + 1) * 512)) -eq "$(used_bytes "$img")" ] || {
    log "partition $num is not the last one on disk: not shrinking"
    return 0
  }
  attach_partition "$img" "$num"
  part=$LOOP
  [ "$(blkid -o value -s TYPE "$part")" = ext4 ] || {
    log "last partition is not ext4: not shrinking"
    detach "$part"
    return 0
  }
  e2fsck -f -y "$part" >&2 || [ $? -le 1 ] || die "e2fsck found errors it could not fix on the image"
  resize2fs -M "$part" >&2
  block_size=$(dumpe2fs -h "$part" 2>/dev/null | sed -n 's/^Block size: *//p')
  block_count=$(dumpe2fs -h "$part" 2>/dev/null | sed -n 's/^Block count: *//p')
  new_blocks=$((block_count + SHRINK_MARGIN_MIB * 1024 * 1024 / block_size))
  max_blocks=$(($(blockdev --getsize64 "$part") / block_size))
  [ "$new_blocks" -le "$max_blocks" ] || new_blocks=$max_blocks
  resize2fs "$part" "$new_blocks" >&2
  detach "$part"

  start=$(sfdisk -q -l -o Start "$img" | tail -n1 | tr -d ' ')
  part_sectors=$((new_blocks * block_size / 512))
  echo "$start,$part_sectors" | sfdisk -q --no-reread -N "$num" "$img" >&2
  truncate -s $(((start + part_sectors) * 512)) "$img"
  log "shrunk to $(numfmt --to=iec "$(stat -c %s "$img")")"
}

# What a deployed Pi holds that is its own or secret; `pulumi up` writes it again on the clone.
# The image may be kept on a laptop or a share: no password, hash or private key goes into it.
DEPLOYED_SECRETS=(
  etc/okome/secrets             # Redis passwords of the health probes and the apply scripts
  etc/okome/prometheus-secrets  # the Redis exporter's login
  etc/okome/validate.env        # okome-validate's login
  etc/okome/wireguard           # WireGuard private keys
  etc/redis/users.acl           # the Redis users' password hashes
)

# Clones must not share SSH host keys, a machine-id or the source Pi's secrets. Debian's sshd
# does not create missing keys, so a first-boot unit does.
generalize() {
  local img=$1 part root
  attach_partition "$img" "$(last_partition_number "$img")"
  part=$LOOP
  mount_tmp "$part"
  root=$MNT
  [ -f "$root/etc/os-release" ] || die "the last partition does not look like a root filesystem"
  rm -f "$root"/etc/ssh/ssh_host_*
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id" "$root/root/.bash_history" "$root"/home/*/.bash_history
  local secret
  for secret in "${DEPLOYED_SECRETS[@]}"; do rm -rf "${root:?}/$secret"; done
  cat >"$root/etc/systemd/system/okome-ssh-host-keys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys on the first boot of a golden-image clone
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf ../okome-ssh-host-keys.service "$root/etc/systemd/system/multi-user.target.wants/okome-ssh-host-keys.service"
  unmount_tmp "$root"
  detach "$part"
  log "generalized: host keys and machine-id removed (regenerated at first boot), deployed secrets removed (pulumi up writes them)"
}

capture() {
  local dev img bytes sum_dev sum_img
  dev=$(readlink -f "$1")
  img=$2
  [ ! -e "$img" ] || die "$img exists; refusing to overwrite"
  check_device "$dev"
  bytes=$(used_bytes "$dev")
  log "copying $(numfmt --to=iec "$bytes") from $dev"
  dd if="$dev" of="$img.partial" bs=4M count="$bytes" iflag=count_bytes status=progress conv=fsync
  sum_dev=$(sha_prefix "$dev" "$bytes")
  sum_img=$(sha_prefix "$img.partial" "$bytes")
  [ "$sum_dev" = "$sum_img" ] || die "copy differs from $dev (read error?): $sum_img != $sum_dev"
  log "copy verified: sha256 $sum_img"
  [ "$SHRINK" -eq 0 ] || shrink "$img.partial"
  [ "$GENERALIZE" -eq 0 ] || generalize "$img.partial"
  (cd "$(dirname "$img")" && sha256sum "$(basename "$img.partial")" | sed 's/\.partial$//' >"$(basename "$img").sha256")
  mv "$img.partial" "$img"
  log "golden image: $img ($(numfmt --to=iec "$(stat -c %s "$img")")), checksum in $img.sha256"
}

verify() {
  local img=$1
  [ -f "$img.sha256" ] || die "no checksum file $img.sha256"
  (cd "$(dirname "$img")" && sha256sum --check --status "$(basename "$img").sha256") ||
    die "$img does not match $img.sha256"
  log "$img matches its checksum"
}

grow() {
  local dev=$1 num part
  num=$(last_partition_number "$dev")
  echo ",+" | sfdisk -q --no-reread --no-tell-kernel -N "$num" "$dev" >&2
  reread_partitions "$dev"
  part=$(partition_node "$dev" "$num")
  e2fsck -f -y "$part" >&2 || [ $? -le 1 ] || die "e2fsck failed on $part"
  resize2fs "$part" >&2
  log "root filesystem grown to fill $dev"
}

set_hostname() {
  local dev=$1 name=$2 part root
  [[ "$name" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "invalid host name '$name'"
  part=$(partition_node "$dev" "$(last_partition_number "$dev")")
  mount_tmp "$part"
  root=$MNT
  echo "$name" >"$root/etc/hostname"
  sed -i "s/^127\.0\.1\.1[[:space:]].*/127.0.1.1\t$name/" "$root/etc/hosts"
  grep -q '^127\.0\.1\.1' "$root/etc/hosts" || printf '127.0.1.1\t%s\n' "$name" >>"$root/etc/hosts"
  unmount_tmp "$root"
  log "host name set to $name"
}

restore() {
  local img=$1 dev bytes sum_img sum_dev
  dev=$(readlink -f "$2")
  [ -f "$img" ] || die "no image $img"
  verify "$img"
  check_device "$dev"
  bytes=$(stat -c %s "$img")
  [ "$bytes" -le "$(blockdev --getsize64 "$dev")" ] || die "$img is larger than $dev"
  confirm "$dev" "overwrite every byte of"
  sum_img=$(cut -d' ' -f1 "$img.sha256")
  dd if="$img" of="$dev" bs=4M status=progress conv=fsync oflag=direct
  blockdev --flushbufs "$dev"
  sum_dev=$(sha_prefix "$dev" "$bytes")
  [ "$sum_dev" = "$sum_img" ] || die "read-back of $dev differs from the image: bad card?"
  log "write verified: sha256 $sum_dev"
  reread_partitions "$dev"
  [ "$GROW" -eq 0 ] || grow "$dev"
  [ -z "$HOSTNAME_SET" ] || set_hostname "$dev" "$HOSTNAME_SET"
  sync
  log "done: $dev can go into the Pi"
}

main() {
  local cmd=${1:-} args=()
  [ $# -eq 0 ] || shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --yes) YES=1 ;;
      --allow-fixed) ALLOW_FIXED=1 ;;
      --allow-loop) ALLOW_LOOP=1 ;;
      --no-shrink) SHRINK=0 ;;
      --keep-identity) GENERALIZE=0 ;;
      --no-grow) GROW=0 ;;
      --hostname) HOSTNAME_SET=${2:?--hostname needs a name}; shift ;;
      --max-size) MAX_SIZE=${2:?--max-size needs a size like 256G}; shift ;;
      -h | --help) usage ;;
      -*) die "unknown option $1" ;;
      *) args+=("$1") ;;
    esac
    shift
  done
  case "$cmd" in
    capture | restore) [ ${#args[@]} -eq 2 ] || usage ;;
    verify) [ ${#args[@]} -eq 1 ] || usage ;;
    *) usage ;;
  esac
  [ "$(id -u)" -eq 0 ] || die "run as root (raw disk access, loop devices)"
  require_tools
  "$cmd" "${args[@]}"
}

main "$@"
