/**
 * A WireGuard peer on this machine for the tests: userspace wireguard-go in a network namespace
 * of its own, configured with `wg setconf`. This machine's kernel has no WireGuard module, but
 * /dev/net/tun works. The tools come from scripts/lib/prepare.sh (wireguard-go built from the Go
 * module proxy, `wg` and `ping` from Debian). Needs root.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EmptyNetns, joinLabBridge } from "./netns";

/** Where scripts/bootstrap-wireguard-go.sh installs wireguard-go. */
export const WIREGUARD_GO = path.join(
  process.env.OKOME_HOME ?? path.join(os.homedir(), ".okome"),
  "bin",
  "wireguard-go",
);
/** wireguard-go's control sockets, one per interface, shared by every namespace of the machine. */
const SOCKET_DIR = "/var/run/wireguard";
/** A lab address no lab host uses (lab/lib.sh: .1 bridge, .18 VIP, .19, .20, .25). */
export const LAB_PEER_ADDRESS = "10.86.0.60/24";
const STARTUP_MS = 10_000;
const STOP_MS = 5_000;

/** A peer's tunnel: what `wg setconf` takes, and what goes on the interface besides. */
export interface TunnelConfig {
  readonly wgConfig: string;
  /** Addresses with prefix (wg-quick's Address, networkd's Address). */
  readonly addresses: readonly string[];
  /** Networks routed into the interface: wg-quick routes every AllowedIPs, networkd none. */
  readonly routes: readonly string[];
}

/** Keys of [Interface] that only wg-quick reads (`wg-quick strip` leaves them out). */
const WG_QUICK_ONLY = new Set([
  "Address",
  "DNS",
  "MTU",
  "Table",
  "PreUp",
  "PostUp",
  "PreDown",
  "PostDown",
  "SaveConfig",
]);

interface IniLine {
  readonly section: string;
  readonly key: string;
  readonly value: string;
}

/** `Key = value` lines of an INI-style file, with their section; comments and blanks dropped. */
function iniLines(text: string): { lines: IniLine[]; sections: string[] } {
  const lines: IniLine[] = [];
  const sections: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      sections.push(section[1]);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`not a Key = value line: ${raw}`);
    lines.push({
      section: sections.at(-1) ?? "",
      key: line.slice(0, eq).trim(),
      value: line.slice(eq + 1).trim(),
    });
  }
  return { lines, sections };
}

/** A wg-quick config as `wg setconf` takes it (what `wg-quick strip` does), its addresses and routes. */
export function stripWgQuick(config: string): TunnelConfig {
  const kept: string[] = [];
  const addresses: string[] = [];
  const routes: string[] = [];
  const list = (value: string) => value.split(",").map((item) => item.trim());
  let section = "";
  for (const raw of config.split("\n")) {
    const header = /^\s*\[(\w+)\]\s*$/.exec(raw);
    if (header) section = header[1];
    const key = /^\s*(\w+)\s*=\s*(.*?)\s*$/.exec(raw);
    if (section === "Interface" && key && WG_QUICK_ONLY.has(key[1])) {
      if (key[1] === "Address") addresses.push(...list(key[2]));
      continue;
    }
    if (section === "Peer" && key?.[1] === "AllowedIPs") routes.push(...list(key[2]));
    kept.push(raw);
  }
  return { wgConfig: kept.join("\n"), addresses, routes };
}

/** networkd's [WireGuard]/[WireGuardPeer] keys that mean the same in a `wg setconf` file. */
const NETWORKD_TO_WG: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  WireGuard: { ListenPort: "ListenPort" },
  WireGuardPeer: {
    PublicKey: "PublicKey",
    AllowedIPs: "AllowedIPs",
    Endpoint: "Endpoint",
    PersistentKeepalive: "PersistentKeepalive",
  },
};

/**
 * A node's systemd-networkd files (.netdev and .network) as a userspace peer's config: what
 * networkd would give the kernel, with the key that its PrivateKeyFile holds.
 */
export function tunnelFromNetworkd(
  netdev: string,
  network: string,
  privateKey: string,
): TunnelConfig {
  const out = ["[Interface]", `PrivateKey = ${privateKey}`];
  let peerIndex = -1;
  for (const line of iniLines(netdev).lines) {
    const wgKey = NETWORKD_TO_WG[line.section]?.[line.key];
    if (line.section === "WireGuard" && line.key === "PrivateKeyFile") continue;
    if (wgKey === undefined) {
      if (line.section === "WireGuard" || line.section === "WireGuardPeer")
        throw new Error(`tunnelFromNetworkd does not know [${line.section}] ${line.key}`);
      continue;
    }
    if (line.section === "WireGuardPeer" && line.key === "PublicKey") {
      out.push("[Peer]");
      peerIndex++;
    }
    if (line.section === "WireGuardPeer" && peerIndex < 0)
      throw new Error("a [WireGuardPeer] must start with its PublicKey");
    out.push(`${wgKey} = ${line.value}`);
  }
  const addresses = iniLines(network)
    .lines.filter((line) => line.section === "Network" && line.key === "Address")
    .map((line) => line.value);
  return { wgConfig: `${out.join("\n")}\n`, addresses, routes: [] };
}

/** Runs `argv` inside `netns`, throwing with its output when it fails. */
function inNetns(netns: EmptyNetns, argv: readonly string[]): string {
  const [file, ...args] = netns.wrap(argv);
  const result = spawnSync(file, args, { encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0)
    throw new Error(
      `${argv.join(" ")} in ${netns.name} failed (${result.error?.message ?? `exit ${result.status}`}): ${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

/** A userspace WireGuard peer: its namespace, its wireguard-go (by pid) and its interface. */
export class WireGuardPeer {
  private output = "";
  private exited: Promise<void>;

  private constructor(
    readonly netns: EmptyNetns,
    /** The interface, named after the test process: wireguard-go's sockets are machine-wide. */
    readonly interfaceName: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** The pid of wireguard-go, which this object stops. */
  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Starts wireguard-go in a new namespace `okome-wg<tag>-<pid>` on interface `okwg<tag><pid>`.
   * `tag` (1-4 lower-case letters) tells this process's peers apart.
   */
  static async start(tag: string): Promise<WireGuardPeer> {
    if (!/^[a-z]{1,4}$/.test(tag))
      throw new Error(`tag must be 1-4 lower-case letters, got "${tag}"`);
    if (!fs.existsSync(WIREGUARD_GO))
      throw new Error(`${WIREGUARD_GO} is missing: run scripts/bootstrap-wireguard-go.sh`);
    const netns = new EmptyNetns(`okome-wg${tag}`);
    const interfaceName = `okwg${tag}${process.pid}`;
    // The kernel sends wireguard-go SIGTERM if this process dies first: no daemon outlives the test.
    const [file, ...args] = netns.wrap([
      "setpriv",
      "--pdeathsig",
      "TERM",
      WIREGUARD_GO,
      "--foreground",
      interfaceName,
    ]);
    const child = spawn(file, args, {
      env: { ...process.env, LOG_LEVEL: "error" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const peer = new WireGuardPeer(netns, interfaceName, child);
    try {
      await peer.waitForSocket();
    } catch (e) {
      await peer.stop();
      throw e;
    }
    return peer;
  }

  private async waitForSocket(): Promise<void> {
    const socket = path.join(SOCKET_DIR, `${this.interfaceName}.sock`);
    const deadline = Date.now() + STARTUP_MS;
    while (!fs.existsSync(socket)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(
          `wireguard-go exited (${this.child.exitCode ?? this.child.signalCode}): ${this.output}`,
        );
      if (Date.now() > deadline)
        throw new Error(`wireguard-go made no ${socket} in ${STARTUP_MS} ms: ${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Sets keys, port and peers (`wg setconf` replaces them all), then the addresses, brings the
   * interface up and adds the routes. May be called again.
   */
  configure(tunnel: TunnelConfig): void {
    // wg reads a file by name, and node's stdin is a socket, which it cannot open: the config
    // (and its key) sits in a root-only temp dir only while wg reads it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-wg-"));
    try {
      const file = path.join(dir, "wg.conf");
      fs.writeFileSync(file, tunnel.wgConfig, { mode: 0o600 });
      inNetns(this.netns, ["wg", "setconf", this.interfaceName, file]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    for (const address of tunnel.addresses)
      inNetns(this.netns, ["ip", "addr", "replace", address, "dev", this.interfaceName]);
    inNetns(this.netns, ["ip", "link", "set", this.interfaceName, "up"]);
    for (const route of tunnel.routes)
      inNetns(this.netns, ["ip", "route", "replace", route, "dev", this.interfaceName]);
  }

  /** Seconds since the epoch of the newest handshake with any peer; 0 when there was none. */
  latestHandshake(): number {
    const out = inNetns(this.netns, ["wg", "show", this.interfaceName, "latest-handshakes"]);
    return Math.max(
      0,
      ...out
        .split("\n")
        .filter(Boolean)
        .map((line) => Number(line.split("\t")[1])),
    );
  }

  /** Waits for a handshake after `sinceSeconds` (epoch); returns its time, or throws after `timeoutMs`. */
  async waitForHandshake(sinceSeconds: number, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const latest = this.latestHandshake();
      if (latest >= sinceSeconds && latest > 0) return latest;
      if (Date.now() > deadline)
        throw new Error(
          `${this.interfaceName}: no handshake in ${timeoutMs} ms:\n${inNetns(this.netns, ["wg", "show", this.interfaceName])}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** True when `address` answers one ping from inside the namespace within 2 s. */
  ping(address: string): boolean {
    const [file, ...args] = this.netns.wrap(["ping", "-n", "-q", "-c", "1", "-W", "2", address]);
    return spawnSync(file, args, { timeout: 10_000 }).status === 0;
  }

  /** Stops wireguard-go (by its pid; SIGKILL if SIGTERM is not enough) and removes the namespace. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const stopped = await Promise.race([
        this.exited.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_MS)),
      ]);
      if (!stopped) {
        this.child.kill("SIGKILL");
        await this.exited;
      }
    }
    this.netns.remove();
  }
}

/** IPv4 only, like the lab: no router solicitations or other IPv6 chatter from the test's links. */
function noIpv6(netns: EmptyNetns): void {
  inNetns(netns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
}

/** Joins two peers' namespaces by a veth pair, `eth0` in each, with addresses (CIDR). */
export function linkPeers(
  left: WireGuardPeer,
  leftAddress: string,
  right: WireGuardPeer,
  rightAddress: string,
): void {
  execFileSync("ip", [
    "link", "add", "eth0", "netns", left.netns.name,
    "type", "veth", "peer", "name", "eth0", "netns", right.netns.name,
  ]); // prettier-ignore
  for (const [peer, address] of [
    [left, leftAddress],
    [right, rightAddress],
  ] as const) {
    noIpv6(peer.netns);
    inNetns(peer.netns, ["ip", "addr", "add", address, "dev", "eth0"]);
    inNetns(peer.netns, ["ip", "link", "set", "eth0", "up"]);
  }
}

/** Puts a peer on the lab bridge as a lab host is: see {@link joinLabBridge}. */
export function attachToLabBridge(peer: WireGuardPeer, address = LAB_PEER_ADDRESS): void {
  joinLabBridge(peer.netns, address, `okwb${process.pid}`);
}
