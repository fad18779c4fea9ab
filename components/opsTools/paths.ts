/** Where the operator tools live on each node. */
export const OPS_TOOLS_PATHS = {
  chaosScript: "/usr/local/sbin/okome-chaos",
  validateScript: "/usr/local/sbin/okome-validate",
  /** okome-chaos's settings (sourced); nothing secret. */
  chaosEnv: "/etc/okome/chaos.env",
  /** okome-validate's settings (sourced): root only, it holds the monitor's password. */
  validateEnv: "/etc/okome/validate.env",
  /** okome-chaos injects nothing unless this exists: present only while `chaosEnabled` is true. */
  chaosFlag: "/etc/okome/CHAOS_ENABLE",
} as const;
