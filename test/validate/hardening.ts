import { accessOutput, metricValue, onNode } from "./nodes";
import { ValidationModule, listOutput, objectOutput, stringOutput } from "./runner";

/** The stack outputs this module reads (index.ts exports them). */
export const HARDENING_OUTPUTS = {
  nodes: { "okome-edge": "edgeHardening", "okome-model": "modelHardening" },
  addresses: { "okome-edge": "edgeAddress", "okome-model": "modelAddress" },
  /** How to log in read-only: the deploy user, key file and known_hosts file. */
  access: "deployAccess",
  pendingReboots: "pendingReboots",
  skippedSettings: "skippedSettings",
} as const;

interface Hardening {
  readonly hostname: string;
  readonly sysctl: Readonly<Record<string, string>>;
  readonly tmpfs: Readonly<Record<string, string>>;
  readonly prunedServices: readonly string[];
  readonly nodeExporterUrl: string;
}

const TMPFS_UNITS: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * The OS baseline of both nodes (HardenedPi), read-only: the node exporter answers on the LAN
 * address, each tmpfs is live (per the exporter) or reported as waiting for a reboot, and over
 * SSH the sysctl values are live (or reported as skipped), the hostname is set, the pruned units
 * are masked, the journal is in RAM, sshd takes keys only and fail2ban watches sshd.
 */
export const hardeningModule: ValidationModule = {
  name: "hardening",
  async run(outputs, check) {
    const access = accessOutput(outputs, HARDENING_OUTPUTS.access);
    const pending = listOutput(outputs, HARDENING_OUTPUTS.pendingReboots);
    const skipped = listOutput(outputs, HARDENING_OUTPUTS.skippedSettings);
    for (const [node, key] of Object.entries(HARDENING_OUTPUTS.nodes)) {
      const h = objectOutput<Hardening>(outputs, key, [
        "hostname",
        "sysctl",
        "tmpfs",
        "prunedServices",
        "nodeExporterUrl",
      ]);
      const address = stringOutput(
        outputs,
        HARDENING_OUTPUTS.addresses[node as keyof typeof HARDENING_OUTPUTS.addresses],
      );
      const run = (command: string) => onNode(access, address, command);
      let metrics = "";
      await check(`${node}: node exporter answers on ${address}`, async () => {
        const res = await fetch(h.nodeExporterUrl, { signal: AbortSignal.timeout(10_000) });
        metrics = await res.text();
        if (!res.ok || !/^node_exporter_build_info/m.test(metrics))
          throw new Error(`${h.nodeExporterUrl} answered ${res.status} without node metrics`);
      });
      for (const [mount, size] of Object.entries(h.tmpfs)) {
        await check(
          `${node}: ${mount} is a ${size} tmpfs, or reported as waiting for a reboot`,
          async () => {
            if (pending.includes(`${node}: fstab: ${mount} becomes a tmpfs`)) return;
            const bytes = metricValue(metrics, "node_filesystem_size_bytes", {
              mountpoint: mount,
              fstype: "tmpfs",
            });
            const want = parseInt(size, 10) * TMPFS_UNITS[size.slice(-1)];
            if (bytes !== want)
              throw new Error(`the node exporter shows ${bytes ?? "no tmpfs"} bytes, want ${want}`);
          },
        );
      }
      await check(`${node}: sysctl values are live (or reported as skipped)`, async () => {
        const names = Object.keys(h.sysctl).filter(
          (name) => !skipped.some((line) => line.startsWith(`${node}: sysctl: ${name} `)),
        );
        const live = (await run(`/usr/sbin/sysctl -n ${names.join(" ")}`)).split("\n");
        const differ = names.filter((name, i) => live[i]?.replace(/\s+/g, " ") !== h.sysctl[name]);
        if (differ.length > 0) throw new Error(`not live: ${differ.join(", ")}`);
      });
      await check(`${node}: hostname is ${h.hostname}`, async () => {
        const name = await run("hostname");
        if (name !== h.hostname) throw new Error(`hostname is ${name}`);
      });
      await check(`${node}: pruned units are masked`, async () => {
        const states = (
          await run(`systemctl is-enabled ${h.prunedServices.join(" ")} || true`)
        ).split("\n");
        const not = h.prunedServices.filter((_, i) => states[i] !== "masked");
        if (not.length > 0) throw new Error(`not masked: ${not.join(", ")}`);
      });
      await check(`${node}: the journal is in RAM only`, async () => {
        const storage = await run(
          "systemd-analyze cat-config systemd/journald.conf | sed -n 's/^Storage=//p' | tail -1",
        );
        if (storage !== "volatile") throw new Error(`journald Storage=${storage || "auto"}`);
      });
      await check(`${node}: sshd takes keys only`, async () => {
        const effective = await run(
          "sudo -n /usr/sbin/sshd -T | grep -E '^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin) '",
        );
        for (const line of [
          "passwordauthentication no",
          "kbdinteractiveauthentication no",
          "permitrootlogin no",
        ])
          if (!effective.split("\n").includes(line))
            throw new Error(`sshd -T does not say ${line}`);
      });
      await check(`${node}: fail2ban watches sshd`, async () => {
        await run("sudo -n fail2ban-client status sshd");
      });
    }
  },
};
