import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigIssuesError } from "../../common/issues";
import { parseStackConfig, validateStackConfig } from "../../components/config";
import { parseHostKey } from "../../providers/ssh/hostKeys";
import { newKeyPair } from "../support/keys";

const lab = {
  environment: "lab",
  vip: "10.86.0.18",
  edgeAddress: "10.86.0.20",
  modelAddress: "10.86.0.19",
  orchestrator: "10.86.0.25:8000",
  sshUser: "okome",
  sshPrivateKeyPath: "~/.okome/lab/keys/id_ed25519",
  knownHostsFile: "~/.okome/lab/known_hosts",
};

describe("stack config", () => {
  it("accepts the lab settings and shapes them for the components", () => {
    const c = parseStackConfig(lab);
    assert.equal(c.edge.address, "10.86.0.20");
    assert.equal(c.model.name, "okome-model");
    assert.deepEqual(c.orchestrator, { host: "10.86.0.25", port: 8000 });
    assert.equal(c.ssh.privateKeyPath, `${os.homedir()}/.okome/lab/keys/id_ed25519`);
  });

  it("reports every bad key at once, each by its full name", () => {
    const issues = validateStackConfig({
      ...lab,
      vip: "10.86.0.300",
      orchestrator: "10.86.0.25",
      environment: "staging",
      sshPrivateKey: "inline",
    });
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, [
      "okome-cache:environment",
      "okome-cache:orchestrator",
      "okome-cache:sshPrivateKeyPath",
      "okome-cache:vip",
    ]);
  });

  it("names a missing required key", () => {
    const issues = validateStackConfig({ ...lab, edgeAddress: undefined });
    assert.deepEqual(issues, [{ path: "okome-cache:edgeAddress", reason: "is required" }]);
  });

  it("rejects a VIP that collides with a node address", () => {
    assert.throws(
      () => parseStackConfig({ ...lab, vip: "10.86.0.20" }),
      (e: unknown) =>
        e instanceof ConfigIssuesError && /okome-cache:vip: .*different/.test(e.message),
    );
  });
});

describe("stack config: host keys", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-config-test-"));
  /** A fresh ed25519 public key line as ssh-keygen writes it: `type base64 comment`. */
  const pubLine = (name: string) => newKeyPair(path.join(dir, name), `root@${name}`);
  const edgePub = pubLine("edge");
  const modelPub = pubLine("model");
  const prod = {
    ...lab,
    environment: "prod",
    vip: "192.168.86.18",
    edgeAddress: "192.168.86.20",
    modelAddress: "192.168.86.19",
    knownHostsFile: undefined,
  };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prod without pinned host keys names both keys to set, with every other problem at once", () => {
    const issues = validateStackConfig({ ...prod, vip: "192.168.86.300" }, { stack: "prod" });
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      "okome-cache:edgeHostKey",
      "okome-cache:modelHostKey",
      "okome-cache:vip",
    ]);
    const edge = issues.find((i) => i.path === "okome-cache:edgeHostKey")!;
    assert.match(edge.reason, /^is required for prod: the edge Pi's host key/);
    assert.match(edge.reason, /`npm run hostkeys -- --stack prod`/);
    assert.throws(() => parseStackConfig(prod), /okome-cache:edgeHostKey: is required for prod/);
  });

  it("the lab may leave host keys unpinned (first-seen pinning)", () => {
    assert.deepEqual(validateStackConfig({ ...lab, knownHostsFile: undefined }), []);
  });

  it("prod accepts a key pinned in knownHostsFile (hashed entry) for that address only", () => {
    const kh = path.join(dir, "known_hosts");
    fs.writeFileSync(kh, `192.168.86.20 ${edgePub}\n`);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", kh], { stdio: "ignore" });
    assert.match(fs.readFileSync(kh, "utf8"), /^\|1\|/, "the entry is hashed");
    const issues = validateStackConfig({ ...prod, knownHostsFile: kh });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["okome-cache:modelHostKey"],
    );
  });

  it("prod with an unreadable knownHostsFile names that key and both host keys", () => {
    const issues = validateStackConfig({ ...prod, knownHostsFile: path.join(dir, "missing") });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["okome-cache:knownHostsFile", "okome-cache:edgeHostKey", "okome-cache:modelHostKey"],
    );
    assert.match(issues[0].reason, /cannot read .*missing/);
  });

  it("a .pub line with its comment is a valid pin, kept without the comment", () => {
    const c = parseStackConfig({ ...prod, edgeHostKey: edgePub, modelHostKey: modelPub });
    assert.match(edgePub, / root@edge$/);
    assert.equal(c.edge.hostKey, edgePub.split(" ").slice(0, 2).join(" "));
    assert.equal(c.model.hostKey, modelPub.split(" ").slice(0, 2).join(" "));
  });

  it("config accepts exactly the key lines the SSH layer's parser accepts", () => {
    const [type, blob] = edgePub.split(" ");
    const lines = [
      edgePub,
      `${type} ${blob}`,
      `${type} ${blob}  two spaces then a comment`,
      `ssh-rsa ${blob}`, // a prefix the blob contradicts
      `${type} ${blob.slice(0, 20)}`, // a cut-off blob
      `ecdsa-sha2-nistp999 ${blob}`,
      `${type}`,
      "",
    ];
    for (const line of lines) {
      const configOk = validateStackConfig({ ...lab, edgeHostKey: line }).length === 0;
      assert.equal(configOk, parseHostKey(line) !== undefined, `config vs parser on "${line}"`);
    }
  });

  it("sshPublicKey must be a public key line", () => {
    assert.deepEqual(validateStackConfig({ ...lab, sshPublicKey: modelPub }), []);
    const issues = validateStackConfig({ ...lab, sshPublicKey: "not a key" });
    assert.deepEqual(
      issues.map((i) => i.path),
      ["okome-cache:sshPublicKey"],
    );
  });
});
