#!/usr/bin/env bash
# Build (or reuse) the lab golden image and print its directory.
#   build.sh [--arch amd64|arm64]
# The cache key hashes this recipe (every file in lab/image/), the architecture, the Debian
# sources taken from this machine's apt config and the deploy public key; an unchanged key
# reuses the image. Layout of $OKOME_HOME/lab/images/<hash>/: rootfs/ (nspawn), disk.raw
# (ext4, qemu backing file), vmlinuz, initrd.img, manifest.json; a finished image has
# manifest.json. arm64 (the Pis' architecture, built through qemu-user binfmt) is a rootfs
# only: it proves the package set installs there and can run arm64 binaries (chroot), but
# the lab boots amd64.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root

SUITE=bookworm
DISK_SIZE=6G

# Debian entries of this machine's apt sources for $SUITE, without any third-party repo,
# so the image uses the same mirror (or snapshot) as the host without naming it here.
debian_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      BEGIN { RS = ""; ORS = "\n\n" }
      {
        keep = 0
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++)
          if (lines[i] ~ /^Suites:/ && lines[i] ~ ("[ \t]" suite "(-updates|-security)?([ \t]|$)")) keep = 1
        if (keep && $0 !~ /(^|\n)Enabled:[ \t]*no/) print
      }' "$f"
  done
}
debian_list_lines() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -E "^deb[[:space:]].*[[:space:]]$SUITE(-updates|-security|/updates)?[[:space:]]" "$f" || true
  done
}

# Foreign-architecture builds run the packages' maintainer scripts under qemu-user.
enable_binfmt() {
  local qemu_arch=aarch64
  ensure_tools "qemu-$qemu_arch-static:qemu-user-static" update-binfmts:binfmt-support
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e "/proc/sys/fs/binfmt_misc/qemu-$qemu_arch" ] || update-binfmts --enable "qemu-$qemu_arch"
  [ -e "/proc/sys/fs/binfmt_misc/qemu-$qemu_arch" ] || die "could not register qemu-$qemu_arch with binfmt_misc for $1"
}

# Older images of the same architecture go, unless a running lab still boots from one.
prune() {
  local arch=$1 keep=$2 in_use='' old
  [ ! -f "$LAB_RUN/image" ] || in_use=$(cat "$LAB_RUN/image")
  for old in "$LAB_HOME"/images/*/manifest.json; do
    old=$(dirname "$old")
    case "$old" in "$keep" | "$in_use") continue ;; esac
    [ "$(jq -r '.arch // "amd64"' "$old/manifest.json")" = "$arch" ] || continue
    log "removing the superseded image $old"
    rm -rf "$old"
  done
}

ensure_keypair() {
  [ -f "$LAB_KEY" ] && return 0
  mkdir -p "$(dirname "$LAB_KEY")"
  chmod 0700 "$(dirname "$LAB_KEY")"
  ssh-keygen -q -t ed25519 -N '' -C "okome-lab-deploy" -f "$LAB_KEY"
  log "generated the lab deploy key $LAB_KEY"
}

main() {
  mkdir -p "$LAB_HOME/images"
  local arch=amd64
  case "${1:-}" in
    "") ;;
    --arch) arch=${2:-} ;;
    *) die "usage: build.sh [--arch amd64|arm64]" ;;
  esac
  case "$arch" in amd64 | arm64) ;; *) die "--arch must be amd64 or arm64" ;; esac
  ensure_tools mmdebstrap:mmdebstrap mkfs.ext4:e2fsprogs ssh-keygen:openssh-client jq:jq
  [ "$arch" = amd64 ] || enable_binfmt "$arch"
  ensure_keypair

  local work hash dir
  sources_dir=$(mktemp -d)
  trap 'rm -rf "$sources_dir"' EXIT
  debian_sources >"$sources_dir/debian.sources"
  debian_list_lines >"$sources_dir/debian.list"
  [ -s "$sources_dir/debian.sources" ] || [ -s "$sources_dir/debian.list" ] ||
    die "no Debian $SUITE entry in /etc/apt/sources.list{,.d/}; the image needs one"

  hash=$(
    cd "$LAB_SRC/image"
    {
      find . -type f -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
        printf '%s\n' "$f"
        cat "$f"
      done
      echo "$arch"
      cat "$sources_dir/debian.sources" "$sources_dir/debian.list" "$LAB_KEY.pub"
    } | sha256sum | cut -c1-16
  )
  dir=$LAB_HOME/images/$hash
  if [ -f "$dir/manifest.json" ]; then
    echo "$dir"
    return 0
  fi

  # One build at a time; a second caller waits and then finds the finished image.
  exec 9>"$LAB_HOME/images/.lock"
  flock 9
  if [ -f "$dir/manifest.json" ]; then
    echo "$dir"
    return 0
  fi
  log "building golden image $hash (mmdebstrap $SUITE $arch; a few minutes)"
  work=$LAB_HOME/images/.build-$hash
  rm -rf "$work"
  mkdir -p "$work"
  local mirrors=() packages started
  [ -s "$sources_dir/debian.sources" ] && mirrors+=("$sources_dir/debian.sources")
  [ -s "$sources_dir/debian.list" ] && mirrors+=("$sources_dir/debian.list")
  local lists=("$LAB_SRC/image/packages.txt")
  [ "$arch" = arm64 ] || lists+=("$LAB_SRC/image/packages-$arch.txt")
  packages=$(cat "${lists[@]}" | grep -v -e '^#' -e '^$' | paste -sd,)
  started=$(date +%s)
  # Docs, man pages, translations and kernel drivers for hardware no VM or Pi cache node
  # has (GPU, media, sound, wireless, physical NICs) only make the image bigger.
  local excludes=(/usr/share/man /usr/share/doc /usr/share/locale /usr/share/info)
  local driver
  for driver in drivers/gpu drivers/media sound drivers/net/wireless drivers/net/ethernet \
    drivers/infiniband drivers/iio drivers/staging; do
    excludes+=("/lib/modules/*/kernel/$driver")
  done
  local dpkgopts=() path
  for path in "${excludes[@]}"; do dpkgopts+=("--dpkgopt=path-exclude=$path/*"); done
  mmdebstrap --arch="$arch" --variant=apt --include="$packages" "${dpkgopts[@]}" \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --essential-hook="$LAB_SRC/image/essential-hook.sh \"\$1\"" \
    --customize-hook="$LAB_SRC/image/customize.sh \"\$1\" '$LAB_KEY.pub'" \
    "$SUITE" "$work/rootfs" "${mirrors[@]}" >"$work/mmdebstrap.log" 2>&1 ||
    die "mmdebstrap failed, see $work/mmdebstrap.log"

  local kernel='' disk_bytes=0
  if [ "$arch" = amd64 ]; then
    kernel=$(basename "$(readlink "$work/rootfs/vmlinuz")")
    cp -L "$work/rootfs/vmlinuz" "$work/vmlinuz"
    cp -L "$work/rootfs/initrd.img" "$work/initrd.img"
    mkfs.ext4 -q -F -L okome-root -d "$work/rootfs" "$work/disk.raw" "$DISK_SIZE" \
      >"$work/mkfs.log" 2>&1 || die "mkfs.ext4 -d failed, see $work/mkfs.log"
    disk_bytes=$(du -B1 "$work/disk.raw" | cut -f1)
  fi

  jq -n --arg hash "$hash" --arg arch "$arch" --arg suite "$SUITE" \
    --arg built "$(date -u +%FT%TZ)" --argjson seconds "$(($(date +%s) - started))" \
    --arg kernel "$kernel" --argjson rootfsBytes "$(du -sb "$work/rootfs" | cut -f1)" \
    --argjson diskBytes "$disk_bytes" --arg packages "$packages" \
    '{hash: $hash, arch: $arch, suite: $suite, built: $built, buildSeconds: $seconds,
      kernel: $kernel, rootfsBytes: $rootfsBytes, diskAllocatedBytes: $diskBytes,
      packages: ($packages | split(","))}' >"$work/manifest.json.tmp"
  mv "$work/manifest.json.tmp" "$work/manifest.json"
  rm -rf "$dir"
  mv "$work" "$dir"
  log "golden image ready: $dir ($(du -sh "$dir" | cut -f1) on disk)"
  prune "$arch" "$dir"
  echo "$dir"
}

main "$@"
