#!/usr/bin/env bash
# mmdebstrap customize hook: the deploy user and the few lab-only settings. Anything a Pi
# gets from the Pulumi program (sshd hardening, sysctl, fstab tuning...) stays out of here.
set -euo pipefail
root=$1
pubkey_file=$2

chroot "$root" useradd --create-home --shell /bin/bash --user-group okome
# '*' (not '!'): no password login, but the account is not locked for key logins.
chroot "$root" usermod --password '*' okome
install -d -m 0700 -o "$(chroot "$root" id -u okome)" -g "$(chroot "$root" id -g okome)" "$root/home/okome/.ssh"
install -m 0600 -o "$(chroot "$root" id -u okome)" -g "$(chroot "$root" id -g okome)" "$pubkey_file" "$root/home/okome/.ssh/authorized_keys"
echo 'okome ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/okome"
chmod 0440 "$root/etc/sudoers.d/okome"
chroot "$root" visudo -cq

echo 'PermitRootLogin no' >"$root/etc/ssh/sshd_config.d/10-okome-lab.conf"
# Host keys are per host: the lab tool installs them before first boot.
rm -f "$root"/etc/ssh/ssh_host_*

# Static addressing comes from a per-host .network file written at `lab up`.
chroot "$root" systemctl enable systemd-networkd.service
# No DNS in the lab (and none needed: everything is addressed by IP).
rm -f "$root/etc/resolv.conf"
: >"$root/etc/resolv.conf"
echo 'LABEL=okome-root / ext4 defaults,errors=remount-ro 0 1' >"$root/etc/fstab"
# Per host at first boot; an empty file makes systemd generate one.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
