import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
  WIREGUARD_DEFAULTS,
  WireGuardAdminPeerArgs,
  WireGuardArgs,
  renderAdminPeerConfig,
  renderWireGuard,
  renderWireGuardSecrets,
  validateAdminPeerArgs,
  validateWireGuardArgs,
  wireGuardCommands,
} from "../../components/hardenedPi/wireguard";
import { expectGolden } from "../support/golden";

const GOLDEN = path.join(__dirname, "golden", "wireguard");
// Fixed test keys (`wg genkey`, `wg pubkey`), so the golden files stay put.
const NODE_PRIVATE = "WHRca2Jyc1OIssXWiTc6TRSKuiQmiYdQqQjSS6Q4HWo=";
const NODE_PUBLIC = "vPkYKIZy1WQG3CAo2NmthQe1oq98/VXaxPkb1fLOd0A=";
const ADMIN_PRIVATE = "2Amlgi2pmpGxHDD+7wEOBeT6ogrCZboLXU2W769jh24=";
const ADMIN_PUBLIC = "PxOYXL3fCN+7Bm8YntpPQdOjQQtwP+UhVdOwo8EQ/Bo=";
const LAPTOP_PUBLIC = "5yPIxG75ODejzP1huR8//qdMm4/0YBfCV3mDYZRbmUs=";

const lab: WireGuardArgs = {
  enabled: true,
  address: "10.86.100.19/24",
  peers: [{ name: "admin", publicKey: ADMIN_PUBLIC, allowedIps: ["10.86.100.2/32"] }],
};
const admin: WireGuardAdminPeerArgs = {
  privateKey: ADMIN_PRIVATE,
  address: "10.86.100.2/32",
  nodeName: "okome-model",
  nodeEndpoint: "10.86.0.19",
  nodePublicKey: NODE_PUBLIC,
};

/** Compares with test/unit/golden/wireguard/<variant>/<file>; OKOME_UPDATE_GOLDEN=1 rewrites them. */
function golden(variant: string, args: WireGuardArgs): void {
  for (const file of renderWireGuard(args))
    expectGolden(path.join(GOLDEN, variant, path.basename(file.path)), file.content, file.path);
}

describe("WireGuard for admin access: rendering", () => {
  it("renders one admin peer on the defaults like the golden files", () => {
    golden("lab", lab);
  });

  it("renders another interface, port and two peers like the golden files", () => {
    golden("custom", {
      enabled: true,
      interfaceName: "okome-admin",
      listenPort: 51999,
      address: "10.86.100.20/24",
      peers: [
        { name: "admin", publicKey: ADMIN_PUBLIC, allowedIps: ["10.86.100.2/32"] },
        {
          name: "laptop",
          publicKey: LAPTOP_PUBLIC,
          allowedIps: ["10.86.100.3/32", "10.86.100.64/26"],
        },
      ],
    });
  });

  it("renders a node without peers like the golden files", () => {
    golden("no-peers", { enabled: true, address: "10.86.100.19/24" });
  });

  it("renders the admin's wg-quick config like the golden file", () => {
    expectGolden(path.join(GOLDEN, "admin-peer.conf"), renderAdminPeerConfig(lab, admin));
  });

  it("is off by default: no files, no key file", () => {
    assert.equal(WIREGUARD_DEFAULTS.enabled, false);
    assert.deepEqual(renderWireGuard({ address: "10.86.100.19/24" }), []);
    assert.deepEqual(renderWireGuardSecrets({}, NODE_PRIVATE), []);
  });

  it("keeps the private key out of the networkd files and in a secret file networkd's group reads", () => {
    for (const file of renderWireGuard(lab)) {
      assert.ok(!file.secret, `${file.path} is not secret`);
      assert.ok(!file.content.includes(NODE_PRIVATE), `${file.path} holds the key`);
    }
    const netdev = renderWireGuard(lab).find((f) => f.path.endsWith(".netdev"))!;
    assert.deepEqual(renderWireGuardSecrets(lab, NODE_PRIVATE), [
      {
        path: "/etc/okome/wireguard/okome-wg0.key",
        content: `${NODE_PRIVATE}\n`,
        mode: "0640",
        owner: "root",
        group: "systemd-network",
        dirMode: "0755",
        secret: true,
      },
    ]);
    assert.match(netdev.content, /^PrivateKeyFile=\/etc\/okome\/wireguard\/okome-wg0\.key$/m);
  });

  it("refuses to render a private key that is not one", () => {
    assert.throws(() => renderWireGuardSecrets(lab, "not-a-key"), /base64 of 32 bytes/);
  });

  it("sends only the node's tunnel address through the admin's tunnel, to the node's LAN address", () => {
    const config = renderAdminPeerConfig(lab, { ...admin, persistentKeepalive: 0 });
    assert.match(config, /^AllowedIPs = 10\.86\.100\.19\/32$/m);
    assert.match(config, /^Endpoint = 10\.86\.0\.19:51820$/m);
    assert.match(config, /^PersistentKeepalive = 0$/m);
  });

  it("recreates the interface on activation and waits for networkd to configure it", () => {
    const commands = wireGuardCommands({ ...lab, interfaceName: "okome-admin" });
    assert.match(commands.activate, /ip link del dev okome-admin; fi; networkctl reload$/);
    assert.match(commands.verify, /networkctl list --no-legend okome-admin/);
  });
});

describe("WireGuard for admin access: validation", () => {
  it("accepts the lab's arguments, the defaults and a disabled tunnel without an address", () => {
    assert.deepEqual(validateWireGuardArgs(lab), []);
    assert.deepEqual(validateWireGuardArgs({}), []);
    assert.deepEqual(validateAdminPeerArgs(lab, admin), []);
  });

  it("requires the tunnel address once enabled", () => {
    assert.deepEqual(
      validateWireGuardArgs({ enabled: true }).map((i) => i.path),
      ["wireguard.address"],
    );
  });

  it("names every bad argument at once, under the component's argument", () => {
    const issues = validateWireGuardArgs(
      {
        enabled: true,
        interfaceName: "okome-wireguard0",
        listenPort: 70000,
        address: "10.86.100.19",
        peers: [
          { name: "Admin", publicKey: "abc", allowedIps: [] },
          {
            name: "laptop",
            publicKey: ADMIN_PUBLIC.slice(0, -2) + "=",
            allowedIps: ["10.86.100.3"],
          },
        ],
      },
      "hardening.wireguard",
    );
    assert.deepEqual(
      issues.map((i) => i.path),
      [
        "hardening.wireguard.interfaceName",
        "hardening.wireguard.listenPort",
        "hardening.wireguard.address",
        "hardening.wireguard.peers[0].name",
        "hardening.wireguard.peers[0].publicKey",
        "hardening.wireguard.peers[0].allowedIps",
        "hardening.wireguard.peers[1].publicKey",
        "hardening.wireguard.peers[1].allowedIps[0]",
      ],
    );
    assert.match(issues[0].reason, /at most 15, the kernel's limit/);
    assert.match(issues[1].reason, /from 1 to 65535, got 70000/);
    assert.match(issues[2].reason, /with a prefix length.*got "10\.86\.100\.19"/);
  });

  it("refuses the network and broadcast addresses as the node's address", () => {
    for (const address of ["10.86.100.0/24", "10.86.100.255/24"])
      assert.match(
        validateWireGuardArgs({ ...lab, address })[0]?.reason ?? "",
        /host address of its network/,
      );
    assert.deepEqual(validateWireGuardArgs({ ...lab, address: "10.86.100.1/32" }).length, 1);
  });

  it("refuses peer addresses outside the tunnel network, duplicate names and keys", () => {
    const issues = validateWireGuardArgs({
      ...lab,
      peers: [
        { name: "admin", publicKey: ADMIN_PUBLIC, allowedIps: ["10.86.101.2/32", "10.86.0.0/16"] },
        { name: "admin", publicKey: ADMIN_PUBLIC, allowedIps: ["10.86.100.128/25"] },
      ],
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      [
        "wireguard.peers[0].allowedIps[0]",
        "wireguard.peers[0].allowedIps[1]",
        "wireguard.peers[1].name",
        "wireguard.peers[1].publicKey",
      ],
    );
    assert.match(issues[0].reason, /not inside the tunnel network 10\.86\.100\.0\/24/);
  });

  it("names every bad argument of the admin's side", () => {
    const issues = validateAdminPeerArgs(lab, {
      privateKey: NODE_PUBLIC.replace("=", ""),
      address: "10.86.7.2/32",
      nodeName: "okome model",
      nodeEndpoint: "okome-model.lan",
      nodePublicKey: "",
      persistentKeepalive: -1,
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      [
        "wireguardAdmin.privateKey",
        "wireguardAdmin.nodePublicKey",
        "wireguardAdmin.address",
        "wireguardAdmin.nodeName",
        "wireguardAdmin.nodeEndpoint",
        "wireguardAdmin.persistentKeepalive",
      ],
    );
    assert.match(issues[2].reason, /not inside the node's tunnel network \(10\.86\.100\.19\/24\)/);
  });
});
