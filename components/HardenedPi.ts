import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { assertNoIssues } from "../common/issues";
import { ConfigSet, HostProbe, PackageBaseline } from "../providers";
import { configSetsByRole, stackKey } from "./kit";
import {
  HardenedPiArgs,
  HardenedPiRole,
  hardenedPiCommands,
  hardenedPiPackages,
  renderHardenedPi,
  resolveHardenedPiArgs,
  sysctlSettings,
  validateHardenedPiArgs,
} from "./hardenedPi";
import { createAdminTunnel } from "./hardenedPi/adminTunnel";
import { HOST_SCRIPTS } from "./platform";

/** What the host reported after the baseline was applied (okome-host-report). */
export interface HostReport {
  /** "none" on a Pi, else systemd-detect-virt's answer (qemu, systemd-nspawn). */
  readonly virtualization: string;
  readonly raspberryPi: boolean;
  /** What waits for a reboot, e.g. "fstab: /var/log becomes a tmpfs". */
  readonly pendingReboots: readonly string[];
  /** Settings this host cannot take (a container's kernel-wide ones). */
  readonly skipped: readonly string[];
}

/**
 * The OS baseline of one Pi, applied before anything else runs on it: the packages every
 * component needs, fstab (noatime, long commit, tmpfs for /tmp, /var/tmp and /var/log with
 * size-based logrotate), sysctl, RAM-only journald, pruned services, hostname and the Pi's
 * firmware settings, key-only sshd (dead-man switch), fail2ban and a LAN-only node exporter.
 * Children: `<name>-packages`, one `<name>-<role>` ConfigSet per role and `<name>-report`, which
 * reads back what waits for a reboot and what this host could not take.
 */
export class HardenedPi extends pulumi.ComponentResource {
  readonly hostname: pulumi.Output<string>;
  /** The sysctl settings as the host must show them live. */
  readonly sysctl: pulumi.Output<Record<string, string>>;
  /** The tmpfs mount points and their sizes. */
  readonly tmpfs: pulumi.Output<Record<string, string>>;
  readonly prunedServices: pulumi.Output<string[]>;
  /** The deploy user, the only one sshd lets in. */
  readonly sshUser: pulumi.Output<string>;
  /** Never banned by fail2ban. */
  readonly adminAddresses: pulumi.Output<string[]>;
  /** The node exporter's metrics URL, on the LAN address. */
  readonly nodeExporterUrl: pulumi.Output<string>;
  /** Debian packages checked on the host (the baseline's and the other components'). */
  readonly packages: pulumi.Output<string[]>;
  /** "applied" on a Pi; "not applicable: ..." elsewhere. */
  readonly piSettings: pulumi.Output<string>;
  /** What the host reported after the baseline was applied. */
  readonly report: pulumi.Output<HostReport>;
  /**
   * The admin machine's wg-quick config for this node (a secret: it holds the admin's private
   * key); undefined when WireGuard is off.
   */
  readonly wireguardPeerConfig: pulumi.Output<string | undefined>;
  /** Every output but the WireGuard config: what the validation suite reads (a stack output per node). */
  readonly summary: Readonly<Record<string, pulumi.Output<unknown>>>;
  /** The config sets and the package check: what the host's other components must wait for. */
  readonly ready: pulumi.Resource[];
  /** Every config set of the component: the deployment gate runs when any of them changes. */
  readonly configSets: readonly ConfigSet[];

  constructor(name: string, args: HardenedPiArgs, opts?: pulumi.ComponentResourceOptions) {
    assertNoIssues(`HardenedPi ${name}`, validateHardenedPiArgs(args));
    super("okome:infra:HardenedPi", name, {}, opts);
    const r = resolveHardenedPiArgs(args);
    const packages = hardenedPiPackages(args);
    const baseline = new PackageBaseline(
      `${name}-packages`,
      {
        connection: args.connection,
        packages,
        install: r.installPackages,
        installStackKey: stackKey("installPackages"),
      },
      { parent: this },
    );
    const commands = hardenedPiCommands(args);
    const roleOf = (role: HardenedPiRole, kind: "plain" | "sshd" = "plain") => ({
      kind,
      service: `os-${role.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
      commands: commands[role],
      // Storage first: it moves /tmp, /var/tmp and /var/log onto their tmpfs with their contents,
      // before a restart elsewhere (journald, Redis) would mount them empty.
      dependsOn: (role === "scripts"
        ? []
        : role === "storage"
          ? ["scripts"]
          : ["scripts", "storage"]) as HardenedPiRole[],
    });
    const files = renderHardenedPi(args);
    const sets = configSetsByRole<HardenedPiRole>(
      name,
      {
        connection: args.connection,
        files: [files],
        after: [baseline],
        roles: {
          scripts: roleOf("scripts"),
          storage: roleOf("storage"),
          kernel: roleOf("kernel"),
          journald: roleOf("journald"),
          services: roleOf("services"),
          identity: roleOf("identity"),
          firmware: r.raspberryPi ? roleOf("firmware") : undefined,
          sshd: { ...roleOf("sshd", "sshd"), deadman: { timeoutSeconds: r.sshDeadmanSeconds } },
          fail2ban: roleOf("fail2ban"),
          nodeExporter: roleOf("nodeExporter"),
        },
      },
      this,
    );
    const tunnel = r.wireguard && createAdminTunnel(this, name, args, r.wireguard, baseline);
    const setList: ConfigSet[] = [
      ...Object.values<ConfigSet>(sets),
      ...(tunnel ? [tunnel.set] : []),
    ];
    // Read again whenever a rendered file changes, so a new pending reboot shows in the same run;
    // from the rendered files (known at preview), not the sets' outputs (unknown until applied).
    const digest = createHash("sha256").update(JSON.stringify(files)).digest("hex");
    const report = new HostProbe(
      `${name}-report`,
      { connection: args.connection, command: HOST_SCRIPTS.hostReport, triggers: [digest] },
      { parent: this, dependsOn: setList },
    ).result as pulumi.Output<HostReport>;
    report.apply((host) => {
      for (const line of host.pendingReboots)
        pulumi.log.warn(`${r.host.name}: reboot needed: ${line}`, this);
      for (const line of host.skipped)
        pulumi.log.warn(`${r.host.name}: skipped on this host: ${line}`, this);
    });

    this.ready = [baseline, ...setList];
    this.configSets = setList;
    this.hostname = pulumi.output(r.host.name);
    this.sysctl = pulumi.output(
      Object.fromEntries(sysctlSettings(args).map(({ name: key, value }) => [key, value])),
    );
    this.tmpfs = pulumi.output(Object.fromEntries(r.tmpfs.map((m) => [m.path, m.size])));
    this.prunedServices = pulumi.output([...r.prunedServices]);
    this.sshUser = pulumi.output(r.sshUser);
    this.adminAddresses = pulumi.output([...r.adminAddresses]);
    this.nodeExporterUrl = pulumi.output(`http://${r.host.address}:${r.nodeExporterPort}/metrics`);
    this.packages = pulumi.output(packages);
    this.piSettings = pulumi.output(
      r.raspberryPi ? "applied" : "not applicable: not a Raspberry Pi (okome-cache:raspberryPi)",
    );
    this.report = report;
    this.wireguardPeerConfig = tunnel ? tunnel.peerConfig : pulumi.output(undefined);
    this.summary = {
      hostname: this.hostname,
      sysctl: this.sysctl,
      tmpfs: this.tmpfs,
      prunedServices: this.prunedServices,
      sshUser: this.sshUser,
      adminAddresses: this.adminAddresses,
      nodeExporterUrl: this.nodeExporterUrl,
      packages: this.packages,
      piSettings: this.piSettings,
      report: this.report,
    };
    this.registerOutputs({ ...this.summary, wireguardPeerConfig: this.wireguardPeerConfig });
  }
}
