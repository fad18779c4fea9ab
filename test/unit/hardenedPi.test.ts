import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
  HardenedPiSpec,
  hardenedPiCommands,
  hardenedPiPackages,
  readHardenedPiStackKeys,
  renderHardenedPi,
  validateHardenedPiArgs,
} from "../../components/hardenedPi";
import { modelCachePackages } from "../../components/modelCache";
import { expectGolden } from "../support/golden";

const GOLDEN = path.join(__dirname, "golden", "hardened-pi");

const lab: HardenedPiSpec = {
  host: { name: "okome-edge", address: "10.86.0.20" },
  sshUser: "okome",
  adminAddresses: ["10.86.0.1"],
  raspberryPi: false,
  installPackages: false,
  rootDevice: "LABEL=okome-root",
};
const pi: HardenedPiSpec = {
  ...lab,
  host: { name: "okome-model", address: "192.168.86.19" },
  adminAddresses: ["192.168.86.0/24"],
  raspberryPi: true,
  installPackages: true,
  rootDevice: "PARTUUID=4e639091-02",
};

/** Compares every rendered file with test/unit/golden/hardened-pi/<variant>/<path>. */
function golden(variant: string, spec: HardenedPiSpec): void {
  for (const files of Object.values(renderHardenedPi(spec)))
    for (const file of files)
      if (!file.path.startsWith("/usr/local/sbin/"))
        expectGolden(path.join(GOLDEN, variant, file.path), file.content, file.path);
}

describe("HardenedPi rendering (components/hardenedPi)", () => {
  it("renders the lab node like the golden files, with no firmware file", () => {
    golden("lab", lab);
    assert.deepEqual(renderHardenedPi(lab).firmware, []);
  });

  it("renders a Pi's fstab with its firmware partition and its config.txt", () => {
    golden("pi", pi);
    const files = renderHardenedPi(pi);
    assert.match(files.storage[0].content, /^LABEL=bootfs {2}\/boot\/firmware {2}vfat/m);
    assert.match(files.firmware[0].content, /^gpu_mem=16$/m);
  });

  it("mounts each tmpfs with its size and keeps the root options", () => {
    const fstab = renderHardenedPi({
      ...lab,
      tmpfs: [{ path: "/var/log", size: "48m", mode: "0755" }],
      rootCommitSeconds: 30,
    }).storage[0].content;
    assert.match(fstab, /^LABEL=okome-root {2}\/ {2}ext4 {2}defaults,noatime,commit=30,/m);
    assert.match(fstab, /^tmpfs {2}\/var\/log {2}tmpfs {2}.*size=48m,mode=0755/m);
    assert.doesNotMatch(fstab, /^tmpfs {2}\/tmp /m);
  });

  it("merges sysctl overrides over the defaults, and keeps ip_nonlocal_bind for the VIP", () => {
    const conf = renderHardenedPi({
      ...lab,
      sysctl: { "vm.swappiness": "10", "net.core.somaxconn": "1024" },
    }).kernel[0].content;
    assert.match(conf, /^vm\.swappiness = 10$/m);
    assert.match(conf, /^net\.core\.somaxconn = 1024$/m);
    assert.match(conf, /^net\.ipv4\.ip_nonlocal_bind = 1$/m);
  });

  it("listens the node exporter on the node's address only, never 0.0.0.0", () => {
    const env = renderHardenedPi(lab).nodeExporter[0].content;
    assert.match(env, /--web\.listen-address=10\.86\.0\.20:9100 /);
    assert.match(env, /--collector\.disable-defaults /);
    assert.match(env, /--collector\.textfile\.directory=\/run\/okome\/textfile"/);
  });

  it("never lets fail2ban ban the admin addresses", () => {
    const jail = renderHardenedPi({ ...lab, adminAddresses: ["10.86.0.1", "10.86.0.0/28"] })
      .fail2ban[0].content;
    assert.match(jail, /^ignoreip = 127\.0\.0\.1\/8 ::1 10\.86\.0\.1 10\.86\.0\.0\/28$/m);
  });

  it("checks sshd with sshd -t and guards the Pi's firmware with a model check", () => {
    const commands = hardenedPiCommands(lab);
    assert.equal(commands.sshd.validate, "/usr/sbin/sshd -t");
    assert.match(commands.firmware.validate, /Raspberry Pi.*set okome-cache:raspberryPi false/);
  });

  it("declares the baseline's packages and the other components', once each", () => {
    const packages = hardenedPiPackages({
      ...lab,
      packages: modelCachePackages({ host: lab.host, hostMemory: "1gb" }),
    });
    assert.deepEqual(packages, [...new Set(packages)].sort());
    for (const name of ["fail2ban", "prometheus-node-exporter", "redis-server", "logrotate"])
      assert.ok(packages.includes(name), name);
  });
});

describe("HardenedPi validation", () => {
  it("accepts the lab and a Pi", () => {
    assert.deepEqual(validateHardenedPiArgs(lab), []);
    assert.deepEqual(validateHardenedPiArgs(pi), []);
  });

  it("names every bad argument at once", () => {
    const paths = validateHardenedPiArgs({
      ...lab,
      adminAddresses: ["10.86.0.300"],
      tmpfs: [
        { path: "/tmp", size: "lots", mode: "1777" },
        { path: "/tmp", size: "64m", mode: "1777" },
      ],
      sysctl: { "vm.swappiness": "1;reboot" },
      prunedServices: ["ssh.service", "bluetooth"],
      nodeExporterCollectors: ["meminfo"],
      wireguard: { network: "10.87.0.0/30", listenPort: 0 },
    }).map((issue) => issue.path);
    assert.deepEqual(paths, [
      "adminAddresses[0]",
      "tmpfs[0].size",
      "tmpfs[1].path",
      "sysctl.vm.swappiness",
      "prunedServices[0]",
      "prunedServices[1]",
      "nodeExporterCollectors",
      "wireguard.network",
      "wireguard.listenPort",
    ]);
  });

  it("refuses an empty adminAddresses: fail2ban could ban the deployer", () => {
    assert.match(
      validateHardenedPiArgs({ ...lab, adminAddresses: [] })[0].reason,
      /deploy machine/,
    );
  });
});

describe("HardenedPi stack keys", () => {
  it("reads the lab's keys, the tmpfs sizes included", () => {
    const { args, issues } = readHardenedPiStackKeys({
      adminAddresses: '["10.86.0.1"]',
      installPackages: "false",
      raspberryPi: "false",
      logSize: "32m",
    });
    assert.deepEqual(issues, []);
    assert.equal(args.installPackages, false);
    assert.equal(args.tmpfs?.find((m) => m.path === "/var/log")?.size, "32m");
  });

  it("names the full stack key of each problem", () => {
    const { issues } = readHardenedPiStackKeys({
      adminAddresses: '["nowhere"]',
      installPackages: "yes",
      varTmpSize: "1x",
      wireguard: "true",
      wireguardPort: "70000",
    });
    assert.deepEqual(
      issues.map((issue) => issue.path),
      [
        "okome-cache:installPackages",
        "okome-cache:adminAddresses[0]",
        "okome-cache:varTmpSize",
        "okome-cache:wireguardPort",
      ],
    );
  });

  it("requires adminAddresses, saying what it is", () => {
    const { issues } = readHardenedPiStackKeys({});
    assert.deepEqual(issues, [
      {
        path: "okome-cache:adminAddresses",
        reason:
          "is required: the deploy machine's address or CIDR, which fail2ban never bans, as a list",
      },
    ]);
  });
});
