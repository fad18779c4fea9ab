/**
 * WireGuard for admin access without the lab: keys from WireGuardKey under the real pulumi, the
 * node's rendered networkd files and the admin's rendered wg-quick config, each on a userspace
 * peer (test/support/wireguardPeer.ts) in a namespace of its own, the two joined by a veth pair.
 * Nothing leaves this machine's namespaces. Needs root.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import {
  WIREGUARD_PATHS,
  WireGuardArgs,
  renderAdminPeerConfig,
  renderWireGuard,
  renderWireGuardSecrets,
} from "../../components/hardenedPi/wireguard";
import { PulumiStack } from "../support/pulumiStack";
import {
  WireGuardPeer,
  linkPeers,
  stripWgQuick,
  tunnelFromNetworkd,
} from "../support/wireguardPeer";

const FIXTURE = path.join(__dirname, "fixtures", "wireguard-keys");
/** The link between the two namespaces (TEST-NET-2: routes nowhere real). */
const NODE_LINK = "198.51.100.1";
const ADMIN_LINK = "198.51.100.2";
const NODE_TUNNEL = "10.86.100.1";
const ADMIN_TUNNEL = "10.86.100.2";

interface Keys {
  readonly nodePrivateKey: string;
  readonly nodePublicKey: string;
  readonly adminPrivateKey: string;
  readonly adminPublicKey: string;
}

describe("WireGuard between two userspace peers (loopback, real pulumi keys)", function () {
  this.timeout(180_000);
  let stack: PulumiStack | undefined;
  let keys: Keys;
  const peers: WireGuardPeer[] = [];

  before(async function () {
    stack = await PulumiStack.create({
      programDir: FIXTURE,
      prefix: "wg-keys",
      passphrase: "okome-wireguard-test",
    });
    const up = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.equal(up.code, 0, up.output);
    keys = (await stack.outputs()) as unknown as Keys;
  });

  after(async function () {
    for (const peer of peers) await peer.stop();
    await stack?.dispose();
  });

  it("keeps the private keys encrypted in state and the public keys in clear", () => {
    const state = stack!.stateText();
    for (const secret of [keys.nodePrivateKey, keys.adminPrivateKey])
      assert.ok(!state.includes(secret), "a private key is in clear in the state");
    for (const publicKey of [keys.nodePublicKey, keys.adminPublicKey])
      assert.ok(state.includes(publicKey), "a public key is not in the state");
  });

  it("makes keys WireGuard itself pairs the same way (`wg pubkey`)", () => {
    for (const [privateKey, publicKey] of [
      [keys.nodePrivateKey, keys.nodePublicKey],
      [keys.adminPrivateKey, keys.adminPublicKey],
    ])
      assert.equal(
        execFileSync("wg", ["pubkey"], { input: privateKey }).toString().trim(),
        publicKey,
      );
  });

  it("completes a handshake and carries a ping from the admin's config to the node's networkd files", async () => {
    const nodeArgs: WireGuardArgs = {
      enabled: true,
      address: `${NODE_TUNNEL}/24`,
      peers: [
        { name: "admin", publicKey: keys.adminPublicKey, allowedIps: [`${ADMIN_TUNNEL}/32`] },
      ],
    };
    const files = [
      ...renderWireGuard(nodeArgs),
      ...renderWireGuardSecrets(nodeArgs, keys.nodePrivateKey),
    ];
    const content = (file: string) => files.find((f) => f.path === file)!.content;
    const adminSide = {
      privateKey: keys.adminPrivateKey,
      address: `${ADMIN_TUNNEL}/32`,
      nodeName: "okome-model",
      nodeEndpoint: NODE_LINK,
      nodePublicKey: keys.nodePublicKey,
    };

    const node = await WireGuardPeer.start("node");
    peers.push(node);
    const admin = await WireGuardPeer.start("adm");
    peers.push(admin);
    linkPeers(node, `${NODE_LINK}/24`, admin, `${ADMIN_LINK}/24`);
    // What networkd gives the kernel: the key from the file PrivateKeyFile names.
    const keyFile = files.find((f) => f.secret)!;
    assert.match(
      content(WIREGUARD_PATHS.netdev),
      new RegExp(`^PrivateKeyFile=${keyFile.path}$`, "m"),
    );
    node.configure(
      tunnelFromNetworkd(
        content(WIREGUARD_PATHS.netdev),
        content(WIREGUARD_PATHS.network),
        keyFile.content.trim(),
      ),
    );
    // The keys matter: with another node key the admin gets no handshake and no answer.
    const wrongKey = { ...adminSide, nodePublicKey: keys.adminPublicKey };
    admin.configure(stripWgQuick(renderAdminPeerConfig(nodeArgs, wrongKey)));
    assert.equal(admin.ping(NODE_TUNNEL), false, "a ping passed with the wrong node key");
    assert.equal(admin.latestHandshake(), 0);

    const since = Math.floor(Date.now() / 1000);
    admin.configure(stripWgQuick(renderAdminPeerConfig(nodeArgs, adminSide)));
    assert.ok(admin.ping(NODE_TUNNEL), `no ping through the tunnel to ${NODE_TUNNEL}`);
    assert.ok(node.ping(ADMIN_TUNNEL), `no ping back through the tunnel to ${ADMIN_TUNNEL}`);
    assert.ok((await admin.waitForHandshake(since)) >= since);
    assert.ok((await node.waitForHandshake(since)) >= since);
  });
});
