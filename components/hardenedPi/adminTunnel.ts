import * as pulumi from "@pulumi/pulumi";
import type { ConfigSet } from "../../providers";
import { configSetsByRole } from "../kit";
import { WireGuardKey } from "../WireGuardKey";
import type { HardenedPiArgs } from "./args";
import {
  WireGuardArgs,
  renderAdminPeerConfig,
  renderWireGuard,
  renderWireGuardSecrets,
  wireGuardCommands,
} from "./wireguard";

/** The tunnel address with the last octet `octet` in `network` (a /24 or wider), as CIDR. */
function tunnelAddress(network: string, octet: number): string {
  const [base, bits] = network.split("/");
  const parts = base.split(".").map(Number);
  parts[3] = octet;
  return `${parts.join(".")}/${bits}`;
}

/**
 * WireGuard for admin access: a key pair for the node and one for the admin machine, the
 * node's networkd files (`<name>-wireguard`), and the admin's wg-quick config. The node takes
 * its LAN address's last octet in the tunnel network; the admin takes .1 (or .2 next to a .1 node).
 */
export function createAdminTunnel(
  component: pulumi.Resource,
  name: string,
  args: HardenedPiArgs,
  access: NonNullable<HardenedPiArgs["wireguard"]>,
  baseline: pulumi.Resource,
): { set: ConfigSet; peerConfig: pulumi.Output<string> } {
  const nodeOctet = Number(args.host.address.split(".")[3]);
  const adminAddress = tunnelAddress(access.network, nodeOctet === 1 ? 2 : 1).replace(
    /\/\d+$/,
    "/32",
  );
  const nodeKey = new WireGuardKey(`${name}-wireguard-key`, { parent: component });
  const adminKey = new WireGuardKey(`${name}-wireguard-admin-key`, { parent: component });
  const tunnel = (adminPublicKey: string): WireGuardArgs => ({
    enabled: true,
    listenPort: access.listenPort,
    address: tunnelAddress(access.network, nodeOctet),
    peers: [{ name: "admin", publicKey: adminPublicKey, allowedIps: [adminAddress] }],
  });
  const node = adminKey.publicKey.apply(tunnel);
  const peerConfig = pulumi.secret(
    pulumi
      .all([node, adminKey.privateKey, nodeKey.publicKey])
      .apply(([nodeArgs, privateKey, nodePublicKey]) =>
        renderAdminPeerConfig(nodeArgs, {
          privateKey,
          address: adminAddress,
          nodeName: args.host.name,
          nodeEndpoint: args.host.address,
          nodePublicKey,
        }),
      ),
  );
  const set = configSetsByRole<"wireguard">(
    name,
    {
      connection: args.connection,
      files: [
        node.apply((nodeArgs) => ({ wireguard: renderWireGuard(nodeArgs) })),
        pulumi.all([node, nodeKey.privateKey]).apply(([nodeArgs, privateKey]) => ({
          wireguard: renderWireGuardSecrets(nodeArgs, privateKey),
        })),
      ],
      after: [baseline],
      roles: {
        wireguard: {
          kind: "plain",
          service: "os-wireguard",
          commands: wireGuardCommands(tunnel("")),
          dependsOn: [],
        },
      },
    },
    component,
  ).wireguard!;
  return { set, peerConfig };
}
