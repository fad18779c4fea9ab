/** The files the baseline manages besides the platform's own (components/platform.ts). */
export const HARDENED_PI_PATHS = {
  fstab: "/etc/fstab",
  tmpfiles: "/etc/tmpfiles.d/okome.conf",
  logrotate: "/etc/logrotate.conf",
  logrotateTimer: "/etc/systemd/system/logrotate.timer.d/okome.conf",
  sysctl: "/etc/sysctl.d/60-okome.conf",
  journald: "/etc/systemd/journald.conf.d/60-okome.conf",
  prunedServices: "/etc/okome/pruned-services",
  hostname: "/etc/hostname",
  hosts: "/etc/hosts",
  /** sshd keeps a setting's first value: this name sorts before the other drop-ins. */
  sshd: "/etc/ssh/sshd_config.d/05-okome-hardening.conf",
  fail2banJail: "/etc/fail2ban/jail.d/okome.local",
  fail2banSettings: "/etc/fail2ban/fail2ban.d/okome.local",
  nodeExporterDefaults: "/etc/default/prometheus-node-exporter",
  /** A firmware change waits for a reboot; okome-host-report lists the files here. */
  firmwareRebootMarker: "/run/okome/reboot-required/firmware",
} as const;
