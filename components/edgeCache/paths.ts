import { OKOME_SECRETS_DIR, OS } from "../platform";

/** Where the edge's files live on the host. */
export const EDGE_CACHE_PATHS = {
  /** Debian's main file, replaced whole: it includes only the files below, never sites-enabled. */
  nginxConf: "/etc/nginx/nginx.conf",
  /** okome's nginx files; each included by name, so none is read by accident. */
  nginxDir: "/etc/nginx/okome",
  /** okome's server: present exactly while the nginx set is installed. */
  edgeServer: "/etc/nginx/okome/edge.conf",
  /** Written by okome-health-probe on a state change only; not managed by the config set. */
  healthState: "/etc/nginx/okome/health_state.conf",
  cacheDir: "/var/cache/nginx/okome",
  accessLog: "/var/log/nginx/okome-access.log",
  errorLog: "/var/log/nginx/error.log",
  /** okome-health-probe's settings (sourced). */
  healthEnv: "/etc/okome/edge-health.env",
  /** okome-verify's settings (sourced). */
  verifyEnv: "/etc/okome/edge-verify.env",
  /** The health user's password (root only). */
  healthPassword: `${OKOME_SECRETS_DIR}/edge-health-redis`,
  /** The probe's counters (consecutive results, transitions); they survive a reboot. */
  healthStateDir: "/var/lib/okome/health",
  textfileDir: OS.textfileDir,
  systemdDir: "/etc/systemd/system",
  /** Debian's defaults file of prometheus-nginx-exporter (its unit's EnvironmentFile). */
  exporterDefaults: "/etc/default/prometheus-nginx-exporter",
} as const;

/** The health location nginx answers itself: the config set's verify and keepalived's check. */
export const EDGE_HEALTH_LOCATION = "/__okome/health";

/** Host scripts of the edge, by job. */
export const EDGE_SCRIPTS = {
  healthProbe: "/usr/local/sbin/okome-health-probe",
  hitRatio: "/usr/local/sbin/okome-hit-ratio",
  verify: "/usr/local/sbin/okome-verify",
  nginxReload: "/usr/local/sbin/okome-nginx-reload",
} as const;

/** systemd units the edge installs. */
export const EDGE_UNITS = {
  healthProbe: "okome-health-probe",
  hitRatio: "okome-hit-ratio",
} as const;
