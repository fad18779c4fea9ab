import { isIPv4 } from "node:net";
import { Issue } from "../../common/issues";
import type { ManagedFile } from "../../providers";
import type { HostCommands } from "../kit";
import { renderTemplate } from "../templates";

/** A peer the node accepts on its WireGuard interface (e.g. the admin's machine). */
export interface WireGuardPeerArgs {
  /** Names the peer in the rendered file and in issues: a lower-case letter, then letters, digits or `-`, at most 32. */
  readonly name: string;
  /** The peer's public key as `wg pubkey` prints it (base64 of 32 bytes). */
  readonly publicKey: string;
  /**
   * Tunnel addresses the node accepts from this peer and sends to it, IPv4 CIDR, each inside the
   * node's tunnel network (`address`): the node routes only that network into the tunnel.
   * Usually the peer's one address, e.g. `10.86.100.2/32`. At least one.
   */
  readonly allowedIps: readonly string[];
}

/**
 * WireGuard for admin access, through systemd-networkd (kernel WireGuard, no wg-quick and no
 * wireguard-tools on the node). Off by default.
 */
export interface WireGuardArgs {
  /** `false`: no files, no interface; turning it off removes both. */
  readonly enabled?: boolean;
  /** The interface on the node: a lower-case letter, then letters, digits or `-`, at most 15 (the kernel's limit). */
  readonly interfaceName?: string;
  /** UDP port the node listens on, 1-65535; the admin's config points its Endpoint here. */
  readonly listenPort?: number;
  /**
   * The node's own tunnel address with the tunnel network's prefix, IPv4 CIDR, e.g.
   * `10.86.100.20/24`. Required when enabled: it is a fact of the address plan, not a default.
   * The network must not overlap the LAN.
   */
  readonly address?: string;
  /** Who may connect. Empty: the interface exists but nobody can use it. */
  readonly peers?: readonly WireGuardPeerArgs[];
}

/** Every default of {@link WireGuardArgs}, applied in one place ({@link resolveWireGuardArgs}). */
export const WIREGUARD_DEFAULTS = {
  /** The tunnel is an extra way in: only who asks for it gets it. */
  enabled: false,
  /** Prefixed so it never takes a name (wg0) an operator may use for something else. */
  interfaceName: "okome-wg0",
  /** WireGuard's customary port; change it when the LAN's firewall opens another. */
  listenPort: 51820,
  peers: [],
} as const;

/** Defaults of the admin's wg-quick config ({@link WireGuardAdminPeerArgs}). */
export const WIREGUARD_ADMIN_DEFAULTS = {
  /**
   * Seconds between keepalives from the admin side, the value `wg-quick`'s documentation
   * suggests: it keeps a NAT or stateful firewall between admin and node open.
   */
  persistentKeepalive: 25,
} as const;

/** Where the node's WireGuard files live (systemd-networkd on Debian 12). */
export const WIREGUARD_PATHS = {
  /** 90-: after the LAN's own files (the lab's 10-okome-lab.network), which match other links. */
  netdev: "/etc/systemd/network/90-okome-wg.netdev",
  network: "/etc/systemd/network/90-okome-wg.network",
  /** Holds only the private key files; entered by networkd (user systemd-network), so 0755. */
  keyDir: "/etc/okome/wireguard",
} as const;

/** The private key file: root writes it, systemd-networkd (its group) reads it, nobody else. */
export const WIREGUARD_KEY_FILE = {
  mode: "0640",
  owner: "root",
  group: "systemd-network",
} as const;

/** The private key file of interface `interfaceName`. */
export function wireGuardKeyPath(interfaceName: string): string {
  return `${WIREGUARD_PATHS.keyDir}/${interfaceName}.key`;
}

/** Arguments with every default applied (`address` has none). */
export type ResolvedWireGuardArgs = Required<Omit<WireGuardArgs, "address">> &
  Pick<WireGuardArgs, "address">;

/** Applies {@link WIREGUARD_DEFAULTS}; the only place that does. */
export function resolveWireGuardArgs(args: WireGuardArgs = {}): ResolvedWireGuardArgs {
  const defaults = WIREGUARD_DEFAULTS;
  return {
    enabled: args.enabled ?? defaults.enabled,
    interfaceName: args.interfaceName ?? defaults.interfaceName,
    listenPort: args.listenPort ?? defaults.listenPort,
    address: args.address,
    peers: args.peers ?? defaults.peers,
  };
}

const INTERFACE_NAME = /^[a-z][a-z0-9-]{0,14}$/;
const PEER_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;
const IPV4_CIDR = /^([0-9.]+)\/(\d{1,2})$/;
const KEY_BYTES = 32;

/** An IPv4 network in CIDR form, as numbers. */
interface Ipv4Cidr {
  readonly address: number;
  readonly prefix: number;
}

function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const match = IPV4_CIDR.exec(text);
  if (!match || !isIPv4(match[1]) || Number(match[2]) > 32) return undefined;
  const address = match[1].split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  return { address, prefix: Number(match[2]) };
}

/** The network bits of `address` under `prefix` (unsigned). */
function networkOf(address: number, prefix: number): number {
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return (address & mask) >>> 0;
}

function dotted(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join(".");
}

/** True when `text` is a WireGuard key: base64 (with its padding) of exactly 32 bytes. */
export function isWireGuardKey(text: string): boolean {
  const bytes = Buffer.from(text, "base64");
  return bytes.length === KEY_BYTES && bytes.toString("base64") === text;
}

const KEY_REASON = "must be a WireGuard key: base64 of 32 bytes, as `wg pubkey` prints it";
const CIDR_REASON = "must be an IPv4 address with a prefix length, like 10.86.100.20/24";

function portIssues(path: string, port: number): Issue[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : [{ path, reason: `must be an integer from 1 to 65535, got ${port}` }];
}

/** Issues of the node's own tunnel address, and its network when it is usable. */
function tunnelAddressIssues(
  path: string,
  address: string | undefined,
  enabled: boolean,
): { issues: Issue[]; tunnel?: Ipv4Cidr } {
  if (address === undefined)
    return {
      issues: enabled
        ? [
            {
              path,
              reason:
                "is required when WireGuard is enabled: the node's tunnel address, like 10.86.100.20/24",
            },
          ]
        : [],
    };
  const tunnel = parseIpv4Cidr(address);
  if (!tunnel) return { issues: [{ path, reason: `${CIDR_REASON}, got "${address}"` }] };
  const network = networkOf(tunnel.address, tunnel.prefix);
  const broadcast = network + 2 ** (32 - tunnel.prefix) - 1;
  if (tunnel.prefix < 31 && (tunnel.address === network || tunnel.address === broadcast))
    return {
      issues: [
        {
          path,
          reason: `must be a host address of its network, not its network or broadcast address, got "${address}"`,
        },
      ],
    };
  return { issues: [], tunnel };
}

function peerIssues(
  path: string,
  peers: readonly WireGuardPeerArgs[],
  tunnel: Ipv4Cidr | undefined,
): Issue[] {
  const issues: Issue[] = [];
  const names = new Set<string>();
  const keys = new Set<string>();
  peers.forEach((peer, index) => {
    const at = `${path}[${index}]`;
    if (!PEER_NAME.test(peer.name))
      issues.push({
        path: `${at}.name`,
        reason: "must be a lower-case letter, then letters, digits or - (at most 32)",
      });
    else if (names.has(peer.name))
      issues.push({ path: `${at}.name`, reason: `"${peer.name}" is listed twice` });
    names.add(peer.name);
    if (!isWireGuardKey(peer.publicKey))
      issues.push({ path: `${at}.publicKey`, reason: KEY_REASON });
    else if (keys.has(peer.publicKey))
      issues.push({ path: `${at}.publicKey`, reason: "is the key of an earlier peer" });
    keys.add(peer.publicKey);
    if (peer.allowedIps.length === 0)
      issues.push({
        path: `${at}.allowedIps`,
        reason: "must list at least one address, like 10.86.100.2/32",
      });
    peer.allowedIps.forEach((cidr, ipIndex) => {
      const allowed = parseIpv4Cidr(cidr);
      const ipPath = `${at}.allowedIps[${ipIndex}]`;
      if (!allowed) issues.push({ path: ipPath, reason: `${CIDR_REASON}, got "${cidr}"` });
      else if (
        tunnel &&
        (allowed.prefix < tunnel.prefix ||
          networkOf(allowed.address, tunnel.prefix) !== networkOf(tunnel.address, tunnel.prefix))
      ) {
        const network = `${dotted(networkOf(tunnel.address, tunnel.prefix))}/${tunnel.prefix}`;
        issues.push({
          path: ipPath,
          reason: `${cidr} is not inside the tunnel network ${network}: the node routes only that network into the tunnel, so its replies would leave by the LAN`,
        });
      }
    });
  });
  return issues;
}

/**
 * Every problem in the arguments at once, each named by its path under `at` (the component's
 * argument, e.g. `wireguard.peers[0].publicKey`). A disabled tunnel is checked too, so a typo
 * shows before the day it is turned on.
 */
export function validateWireGuardArgs(args: WireGuardArgs, at = "wireguard"): Issue[] {
  const resolved = resolveWireGuardArgs(args);
  const issues: Issue[] = [];
  if (!INTERFACE_NAME.test(resolved.interfaceName))
    issues.push({
      path: `${at}.interfaceName`,
      reason: `must be a lower-case letter, then letters, digits or - (at most 15, the kernel's limit), got "${resolved.interfaceName}"`,
    });
  issues.push(...portIssues(`${at}.listenPort`, resolved.listenPort));
  const address = tunnelAddressIssues(`${at}.address`, resolved.address, resolved.enabled);
  issues.push(...address.issues);
  issues.push(...peerIssues(`${at}.peers`, resolved.peers, address.tunnel));
  return issues;
}

/**
 * The node's systemd-networkd files: the .netdev (interface, port, peers; it names the key file
 * but never holds the key) and the .network (its address). None when disabled. Pure; the key
 * file comes from {@link renderWireGuardSecrets}, so that a secret private key does not make
 * these files secret too and hide their diffs.
 */
export function renderWireGuard(args: WireGuardArgs): ManagedFile[] {
  const resolved = resolveWireGuardArgs(args);
  if (!resolved.enabled) return [];
  const view = {
    interfaceName: resolved.interfaceName,
    listenPort: resolved.listenPort,
    address: resolved.address,
    privateKeyFile: wireGuardKeyPath(resolved.interfaceName),
    peers: resolved.peers.map((peer) => ({ ...peer, allowedIps: peer.allowedIps.join(",") })),
  };
  return [
    {
      path: WIREGUARD_PATHS.netdev,
      content: renderTemplate("wireguard/90-okome-wg.netdev.mustache", view),
      mode: "0644",
    },
    {
      path: WIREGUARD_PATHS.network,
      content: renderTemplate("wireguard/90-okome-wg.network.mustache", view),
      mode: "0644",
    },
  ];
}

/** The node's private key file (secret; root:systemd-network 0640). None when disabled. */
export function renderWireGuardSecrets(args: WireGuardArgs, privateKey: string): ManagedFile[] {
  const resolved = resolveWireGuardArgs(args);
  if (!resolved.enabled) return [];
  if (!isWireGuardKey(privateKey))
    throw new Error(`the node's WireGuard private key ${KEY_REASON}`);
  return [
    {
      path: wireGuardKeyPath(resolved.interfaceName),
      content: `${privateKey}\n`,
      ...WIREGUARD_KEY_FILE,
      dirMode: "0755",
      secret: true,
    },
  ];
}

/**
 * The host commands of the WireGuard config set (kind "plain"; run as root). systemd-networkd
 * creates a netdev on reload but never changes one that exists, so activation deletes the link
 * first; on the set's removal the same command leaves no interface behind. Needs networkd
 * running, as on the lab image.
 */
export function wireGuardCommands(args: WireGuardArgs): Required<Omit<HostCommands, "validate">> {
  const name = resolveWireGuardArgs(args).interfaceName;
  return {
    // networkd may not run yet where NetworkManager owns the LAN (Raspberry Pi OS): it then
    // manages only this tunnel, the one link with a .network file of its own.
    activate:
      `systemctl enable --quiet --now systemd-networkd && ` +
      `if ip link show dev ${name} >/dev/null 2>&1; then ip link del dev ${name}; fi; networkctl reload`,
    // networkd says "configured" once the key, peers and address are set; on failure its own
    // words (a key file it cannot read) are in the unit's log.
    verify:
      `timeout 20 sh -c 'until networkctl list --no-legend ${name} 2>/dev/null | grep -q " configured"; do sleep 0.5; done' ` +
      `|| { journalctl -u systemd-networkd -n 20 --no-pager >&2; exit 1; }`,
  };
}

/** The admin's side of the tunnel to one node: what {@link renderAdminPeerConfig} needs. */
export interface WireGuardAdminPeerArgs {
  /** The admin's private key (a WireGuardKey's `privateKey`), base64 of 32 bytes. */
  readonly privateKey: string;
  /** The admin's tunnel address, IPv4 CIDR inside the node's tunnel network, e.g. `10.86.100.2/32`. */
  readonly address: string;
  /** The node's name, for the config's comments. */
  readonly nodeName: string;
  /** The node's LAN address (IPv4), where the admin's packets go (`Endpoint`). */
  readonly nodeEndpoint: string;
  /** The node's public key (its WireGuardKey's `publicKey`). */
  readonly nodePublicKey: string;
  /** Seconds between keepalives, 1-65535, or 0 for none. */
  readonly persistentKeepalive?: number;
}

/** Every problem in the admin's side at once, named by its path under `at`. */
export function validateAdminPeerArgs(
  node: WireGuardArgs,
  admin: WireGuardAdminPeerArgs,
  at = "wireguardAdmin",
): Issue[] {
  const issues: Issue[] = [];
  if (!isWireGuardKey(admin.privateKey))
    issues.push({ path: `${at}.privateKey`, reason: KEY_REASON });
  if (!isWireGuardKey(admin.nodePublicKey))
    issues.push({ path: `${at}.nodePublicKey`, reason: KEY_REASON });
  const nodeAddress = resolveWireGuardArgs(node).address;
  const tunnel = nodeAddress === undefined ? undefined : parseIpv4Cidr(nodeAddress);
  const address = parseIpv4Cidr(admin.address);
  if (!address)
    issues.push({ path: `${at}.address`, reason: `${CIDR_REASON}, got "${admin.address}"` });
  else if (
    tunnel &&
    networkOf(address.address, tunnel.prefix) !== networkOf(tunnel.address, tunnel.prefix)
  )
    issues.push({
      path: `${at}.address`,
      reason: `${admin.address} is not inside the node's tunnel network (${nodeAddress}): the node would send its replies by the LAN`,
    });
  if (!HOST_NAME.test(admin.nodeName))
    issues.push({
      path: `${at}.nodeName`,
      reason: "must be a host name (letters, digits, . or -)",
    });
  if (!isIPv4(admin.nodeEndpoint))
    issues.push({
      path: `${at}.nodeEndpoint`,
      reason: `must be the node's IPv4 address, got "${admin.nodeEndpoint}"`,
    });
  const keepalive = admin.persistentKeepalive ?? WIREGUARD_ADMIN_DEFAULTS.persistentKeepalive;
  if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 65535)
    issues.push({
      path: `${at}.persistentKeepalive`,
      reason: `must be an integer from 0 (none) to 65535 seconds, got ${keepalive}`,
    });
  return issues;
}

/**
 * The admin's wg-quick config for one node (the stack output; a secret, since it holds the
 * admin's private key). Only the node's tunnel address goes through the tunnel.
 */
export function renderAdminPeerConfig(node: WireGuardArgs, admin: WireGuardAdminPeerArgs): string {
  const resolved = resolveWireGuardArgs(node);
  const tunnel = resolved.address === undefined ? undefined : parseIpv4Cidr(resolved.address);
  if (!tunnel) throw new Error(`wireguard.address ${CIDR_REASON}, got "${resolved.address}"`);
  return renderTemplate("wireguard/wg-quick.conf.mustache", {
    interfaceName: resolved.interfaceName,
    privateKey: admin.privateKey,
    address: admin.address,
    nodeName: admin.nodeName,
    nodePublicKey: admin.nodePublicKey,
    endpoint: `${admin.nodeEndpoint}:${resolved.listenPort}`,
    nodeTunnelAddress: `${dotted(tunnel.address)}/32`,
    persistentKeepalive: admin.persistentKeepalive ?? WIREGUARD_ADMIN_DEFAULTS.persistentKeepalive,
  });
}
