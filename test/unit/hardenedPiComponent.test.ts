import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigIssuesError } from "../../common/issues";
import { HardenedPi } from "../../components/HardenedPi";
import { HardenedPiArgs } from "../../components/hardenedPi";
import { Registered, recordingMocks } from "../support/pulumiMocks";

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => resolve(v)));
/** What okome-host-report answers in the mocks: a VM that waits for a reboot. */
const REPORT = {
  virtualization: "qemu",
  raspberryPi: false,
  pendingReboots: ["fstab: /var/log becomes a tmpfs"],
  skipped: [],
};

describe("HardenedPi (component, under Pulumi mocks)", () => {
  let registered: Registered[];

  before(() => {
    registered = recordingMocks((type) =>
      type.endsWith(":HostProbe")
        ? { result: REPORT }
        : type.endsWith(":WireGuardKey")
          ? // Valid x25519 keys are not needed: the mocks only route them into files.
            {
              privateKey: Buffer.alloc(32, 1).toString("base64"),
              publicKey: Buffer.alloc(32, 2).toString("base64"),
            }
          : {},
    );
  });
  beforeEach(() => {
    registered.length = 0;
  });

  const args: HardenedPiArgs = {
    host: { name: "okome-edge", address: "10.86.0.20" },
    connection: { name: "okome-edge", address: "10.86.0.20", user: "okome", privateKeyPath: "/k" },
    sshUser: "okome",
    adminAddresses: ["10.86.0.1"],
    raspberryPi: false,
    installPackages: false,
    packages: ["nginx"],
  };
  const settled = async (node: HardenedPi) => {
    await value(node.urn);
    await value(node.report);
    await new Promise((resolve) => setTimeout(resolve, 50));
  };
  const names = () => registered.map((r) => r.name).filter((n) => n !== "edge-os");

  it("checks the packages, applies one set per concern, then reads the host's report", async () => {
    const node = new HardenedPi("edge-os", args);
    await settled(node);
    assert.deepEqual(
      names().sort(),
      [
        "edge-os-fail2ban",
        "edge-os-identity",
        "edge-os-journald",
        "edge-os-kernel",
        "edge-os-nodeExporter",
        "edge-os-packages",
        "edge-os-report",
        "edge-os-scripts",
        "edge-os-services",
        "edge-os-sshd",
        "edge-os-storage",
      ].sort(),
    );
    const packages = registered.find((r) => r.name === "edge-os-packages")!.inputs;
    assert.equal(packages.install, false);
    assert.ok((packages.packages as string[]).includes("nginx"));
    assert.equal(registered.find((r) => r.name === "edge-os-sshd")!.inputs.kind, "sshd");
    assert.deepEqual(await value(node.report), REPORT);
    assert.equal(await value(node.wireguardPeerConfig), undefined);
    assert.match(await value(node.piSettings), /^not applicable/);
  });

  it("manages the firmware's config.txt on a Pi only", async () => {
    await settled(new HardenedPi("edge-os", { ...args, raspberryPi: true }));
    const firmware = registered.find((r) => r.name === "edge-os-firmware");
    assert.ok(firmware, "a firmware set on a Pi");
    assert.ok("/boot/firmware/config.txt" in (firmware.inputs.files as object));
  });

  it("with WireGuard on, adds the tunnel's set and a secret peer config for the admin", async () => {
    const node = new HardenedPi("edge-os", {
      ...args,
      wireguard: { network: "10.87.0.0/24", listenPort: 51820 },
    });
    await settled(node);
    assert.ok(names().includes("edge-os-wireguard"));
    assert.ok(
      names().includes("edge-os-wireguard-key") && names().includes("edge-os-wireguard-admin-key"),
    );
    assert.equal(await pulumi.isSecret(node.wireguardPeerConfig), true);
    const config = await value(node.wireguardPeerConfig);
    assert.match(config!, /^Endpoint = 10\.86\.0\.20:51820$/m);
    assert.match(config!, /^Address = 10\.87\.0\.1\/32$/m);
    const files = registered.find((r) => r.name === "edge-os-wireguard")!.inputs.files as Record<
      string,
      { content?: string }
    >;
    const contents = JSON.stringify(files);
    assert.match(contents, /Address=10\.87\.0\.20\/24/);
  });

  it("refuses bad arguments before registering anything, naming each", () => {
    assert.throws(
      () => new HardenedPi("edge-os", { ...args, adminAddresses: [], nodeExporterPort: 0 }),
      (e: unknown) =>
        e instanceof ConfigIssuesError &&
        e.issues.map((i) => i.path).join(",") === "adminAddresses,nodeExporterPort",
    );
    assert.deepEqual(registered, []);
  });
});
