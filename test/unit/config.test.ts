import { strict as assert } from "node:assert";
import * as os from "node:os";
import { ConfigIssuesError } from "../../common/issues";
import { parseStackConfig, validateStackConfig } from "../../components/config";

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
