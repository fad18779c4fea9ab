import type { HostCommands } from "../kit";
import { HOST_SCRIPTS, OS } from "../platform";
import { HardenedPiSpec, resolveHardenedPiArgs } from "./args";
import { HARDENED_PI_PATHS } from "./paths";
import type { HardenedPiRole } from "./render";

/** Waits up to `seconds` for a shell condition (services take a moment to come up). */
const within = (seconds: number, condition: string) =>
  `timeout ${seconds} sh -c 'until ${condition}; do sleep 0.5; done'`;

/** The host commands of the baseline's config sets (run as root by the ConfigSet transaction). */
export function hardenedPiCommands(spec: HardenedPiSpec) {
  const r = resolveHardenedPiArgs(spec);
  const metrics = `http://${r.host.address}:${r.nodeExporterPort}/metrics`;
  const exporter = OS.nodeExporterUnit;
  return {
    scripts: { activate: "true" },
    storage: {
      validate: `${HOST_SCRIPTS.fstabApply} --verify`,
      // The log dirs first: a tmpfs /var/log mounted at the next boot needs them at once. The
      // reload lets systemd's fstab generator and the timer see their new files.
      activate:
        `if [ -f ${HARDENED_PI_PATHS.tmpfiles} ]; then systemd-tmpfiles --create ${HARDENED_PI_PATHS.tmpfiles}; fi` +
        ` && ${HOST_SCRIPTS.fstabApply} && systemctl daemon-reload && systemctl restart logrotate.timer`,
      verify: "systemctl is-active --quiet logrotate.timer",
    },
    kernel: {
      activate: HOST_SCRIPTS.sysctlApply,
      verify: `${HOST_SCRIPTS.sysctlApply} --check`,
    },
    journald: {
      activate: "systemctl restart systemd-journald",
      verify: "systemctl is-active --quiet systemd-journald && test -d /run/log/journal",
    },
    services: {
      activate: HOST_SCRIPTS.pruneServices,
      verify: `${HOST_SCRIPTS.pruneServices} --check`,
    },
    identity: {
      activate: `hostname "$(cat ${HARDENED_PI_PATHS.hostname})"`,
      verify: `test "$(hostname)" = ${r.host.name}`,
    },
    firmware: {
      // Refuses to write a Pi's firmware settings onto anything else.
      validate:
        `grep -qs 'Raspberry Pi' /proc/device-tree/model || ` +
        `{ echo "${r.host.name} is not a Raspberry Pi: set okome-cache:raspberryPi false" >&2; exit 1; }`,
      activate:
        `mkdir -p "$(dirname ${HARDENED_PI_PATHS.firmwareRebootMarker})" && ` +
        `echo "firmware: ${OS.firmwareConfig} changed" > ${HARDENED_PI_PATHS.firmwareRebootMarker}`,
    },
    sshd: {
      validate: `${OS.sshd} -t`,
      // The seed's raspi-config "SSH on": enabled at boot, whatever the image said.
      activate: `systemctl enable --quiet ${OS.sshUnit} && systemctl reload ${OS.sshUnit}`,
      verify: `${OS.sshd} -T -C user=${r.sshUser},host=${r.host.name},addr=${r.host.address} | grep -qx 'passwordauthentication no'`,
    },
    fail2ban: {
      // Only okome's jail is checked: Debian's own (the set's removal restores it) fails the test
      // on a host without auth.log, and fail2ban then stays down as it was before.
      validate: `if [ -f ${HARDENED_PI_PATHS.fail2banJail} ]; then fail2ban-client --test; fi`,
      // A restart: the database setting is read at start only.
      activate: `systemctl enable --quiet ${OS.fail2banUnit} && systemctl restart ${OS.fail2banUnit}`,
      verify: within(30, "fail2ban-client status sshd >/dev/null 2>&1"),
    },
    nodeExporter: {
      activate: `systemctl enable --quiet ${exporter} && systemctl restart ${exporter}`,
      verify: within(20, `curl -fsS ${metrics} | grep -q '^node_exporter_build_info'`),
    },
  } satisfies Record<HardenedPiRole, HostCommands>;
}
