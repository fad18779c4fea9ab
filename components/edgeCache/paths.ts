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
  /** The jq functions okome-hit-ratio and okome-prewarm share; beside them (../lib/okome). */
  nginxLogJq: "/usr/local/lib/okome/nginx-log.jq",
  /** okome-prewarm's settings (sourced). */
  prewarmEnv: "/etc/okome/edge-prewarm.env",
  /**
   * okome-prewarm's top list, which nginx serves to the LAN (EDGE_PREWARM_LOCATION): outside
   * /var/lib/okome, which is root's only, so that nginx's workers can read it.
   */
  prewarmList: "/var/lib/okome-prewarm/top-urls.txt",
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

/** Where the edge serves its pre-warm top list, to the LAN only (the standby warms from it). */
export const EDGE_PREWARM_LOCATION = "/__okome/prewarm-urls";

/** The User-Agent of pre-warm's requests: the top list leaves them out. */
export const PREWARM_USER_AGENT = "okome-prewarm";

/** Host scripts of the edge, by job. */
export const EDGE_SCRIPTS = {
  healthProbe: "/usr/local/sbin/okome-health-probe",
  hitRatio: "/usr/local/sbin/okome-hit-ratio",
  verify: "/usr/local/sbin/okome-verify",
  nginxReload: "/usr/local/sbin/okome-nginx-reload",
  prewarm: "/usr/local/sbin/okome-prewarm",
} as const;

/** systemd units the edge installs. */
export const EDGE_UNITS = {
  healthProbe: "okome-health-probe",
  hitRatio: "okome-hit-ratio",
  prewarm: "okome-prewarm",
} as const;
