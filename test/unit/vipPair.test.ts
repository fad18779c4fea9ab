import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
  VipPairSpec,
  isHostIn,
  readVipPairStackKeys,
  renderVipNode,
  validateVipPairArgs,
  vipNodeCommands,
} from "../../components/vipPair";
import { expectGolden } from "../support/golden";

const GOLDEN = path.join(__dirname, "golden", "vip-pair");

const lab: VipPairSpec = {
  vip: "10.86.0.18",
  lanCidr: "10.86.0.0/24",
  master: { host: { name: "okome-edge", address: "10.86.0.20" } },
  backup: { host: { name: "okome-model", address: "10.86.0.19" } },
};

const fileOf = (spec: VipPairSpec, role: "master" | "backup", target: string) =>
  Object.values(renderVipNode(spec, role))
    .flat()
    .find((f) => f.path === target)?.content ?? "";
const KEEPALIVED = "/etc/keepalived/keepalived.conf";
const FILTER = "/etc/nftables.d/okome-vrrp.nft";

describe("VipPair rendering (components/vipPair)", () => {
  it("renders the seed's keepalived-master.conf and keepalived-backup.conf from one description", () => {
    for (const role of ["master", "backup"] as const) {
      expectGolden(path.join(GOLDEN, `keepalived-${role}.conf`), fileOf(lab, role, KEEPALIVED));
      expectGolden(path.join(GOLDEN, `okome-vrrp-${role}.nft`), fileOf(lab, role, FILTER));
    }
  });

  it("makes the two files differ only in the node, its priority and its peer", () => {
    const master = fileOf(lab, "master", KEEPALIVED);
    const backup = fileOf(lab, "backup", KEEPALIVED);
    const swapped = master
      .replaceAll("okome-edge", "@NODE@")
      .replaceAll("10.86.0.20", "@SELF@")
      .replaceAll("10.86.0.19", "@PEER@")
      .replace("priority 150", "priority 100")
      .replace("the master of the VIP", "the backup of the VIP")
      .replaceAll("@NODE@", "okome-model")
      .replaceAll("@SELF@", "10.86.0.19")
      .replaceAll("@PEER@", "10.86.0.20");
    assert.equal(backup, swapped);
  });

  it("starts both nodes BACKUP with preempt_delay, VRRPv3 unicast, and tracks nginx with weight 0", () => {
    const conf = fileOf(lab, "master", KEEPALIVED);
    assert.match(conf, /^\s+state BACKUP$/m);
    assert.doesNotMatch(conf, /nopreempt|state MASTER/);
    assert.match(conf, /^\s+preempt_delay 60$/m);
    assert.match(conf, /^\s+vrrp_version 3$/m);
    assert.match(conf, /^\s+advert_int 0\.1$/m);
    assert.match(conf, /unicast_peer \{\n\s+10\.86\.0\.19\n\s+\}/);
    assert.match(conf, /10\.86\.0\.18\/24 dev eth0/);
    assert.match(conf, /vrrp_track_process okome_nginx \{\n\s+process nginx/);
    assert.match(
      conf,
      /curl -fsS --max-time 2 -o \/dev\/null http:\/\/127\.0\.0\.1:80\/__okome\/health/,
    );
    assert.match(
      conf,
      /^\s+interval 2\n\s+timeout 2\n/m,
      "a slow curl under load is not a dead edge",
    );
    assert.doesNotMatch(conf, /upstream|8000/, "never the orchestrator's health");
    for (const weight of conf.matchAll(/weight (-?\d+)/g)) assert.equal(weight[1], "0");
  });

  it("tracks nginx by a file its unit writes when asked to (a container)", () => {
    const spec = { ...lab, nginxTracking: "file" as const };
    const conf = fileOf(spec, "master", KEEPALIVED);
    assert.match(conf, /vrrp_track_file okome_nginx \{\n\s+file \/run\/okome\/nginx-down/);
    assert.doesNotMatch(conf, /vrrp_track_process|^\s+track_process \{/m);
    const dropIn = fileOf(
      spec,
      "master",
      "/etc/systemd/system/nginx.service.d/okome-vrrp-track.conf",
    );
    assert.match(dropIn, /^ExecStopPost=.*echo 1 > \/run\/okome\/nginx-down'$/m);
    assert.equal(
      fileOf(lab, "master", "/etc/systemd/system/nginx.service.d/okome-vrrp-track.conf"),
      "",
    );
  });

  it("accepts VRRP from the peer only, in a table of its own", () => {
    const filter = fileOf(lab, "backup", FILTER);
    assert.match(filter, /ip protocol vrrp ip saddr != 10\.86\.0\.20 counter drop/);
    assert.doesNotMatch(filter, /flush ruleset/);
  });

  it("checks the config with keepalived -t and the filter with nft -c; a FAULT after activation fails the verify", () => {
    const c = vipNodeCommands(lab);
    assert.match(
      c.keepalived.validate,
      / \|\| keepalived -t -f \/etc\/keepalived\/keepalived\.conf$/,
    );
    assert.match(c.filter.validate, / \|\| nft -c -f \/etc\/nftables\.d\/okome-vrrp\.nft$/);
    assert.match(c.keepalived.verify, /okome_vip_state.*\[01\]/);
  });
});

describe("VipPair arguments", () => {
  it("accepts the lab pair", () => {
    assert.deepEqual(validateVipPairArgs(lab), []);
  });

  it("names every bad argument at once", () => {
    const issues = validateVipPairArgs({
      ...lab,
      vip: "10.86.1.18",
      virtualRouterId: 256,
      priorities: { master: 100, backup: 100 },
      advertIntervalSeconds: 0.005,
      preemptDelaySeconds: 2000,
      interface: "eth0; rm",
    }).map((i) => i.path);
    assert.deepEqual(issues, [
      "vip",
      "interface",
      "virtualRouterId",
      "priorities",
      "advertIntervalSeconds",
      "preemptDelaySeconds",
    ]);
  });

  it("refuses a VIP that is a node's address, or the LAN's network or broadcast address", () => {
    for (const vip of ["10.86.0.20", "10.86.0.0", "10.86.0.255"])
      assert.deepEqual(
        validateVipPairArgs({ ...lab, vip }).map((i) => i.path),
        ["vip"],
        vip,
      );
    assert.ok(isHostIn("192.168.86.18", "192.168.86.0/24"));
    assert.ok(!isHostIn("192.168.87.18", "192.168.86.0/24"));
  });
});

describe("VipPair stack keys", () => {
  const raw = {
    vip: "10.86.0.18",
    lanCidr: "10.86.0.0/24",
    edgeAddress: "10.86.0.20",
    modelAddress: "10.86.0.19",
  };

  it("reads the defaults and the lab's keys", () => {
    const { args, issues } = readVipPairStackKeys({ ...raw, vipNginxTracking: "file" });
    assert.deepEqual(issues, []);
    assert.equal(args.nginxTracking, "file");
  });

  it("names the full stack key of each problem of the pair's own keys", () => {
    const { issues } = readVipPairStackKeys({
      ...raw,
      vipRouterId: "0",
      vipNginxTracking: "poll",
      vipInterface: "eth0; rm",
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["okome-cache:vipNginxTracking", "okome-cache:vipInterface", "okome-cache:vipRouterId"],
    );
  });

  it("holds no stack to the pair's address rules: only a program that builds a pair is", () => {
    const { issues } = readVipPairStackKeys({ ...raw, vip: "10.86.1.18" });
    assert.deepEqual(issues, []);
    assert.deepEqual(
      validateVipPairArgs({ ...lab, vip: "10.86.1.18" }).map((i) => i.path),
      ["vip"],
    );
  });
});
