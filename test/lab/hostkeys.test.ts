/**
 * `npm run hostkeys -- --stack <a lab stack>` against the lab's real sshds: the keys it fetches
 * without trusting them must be the ones the lab tool generated (hosts.json), and it must say
 * that the stack's known_hosts pins exactly them. Needs `npm run lab:up`; fails without it.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { fingerprint, parseHostKey } from "../../providers/ssh/hostKeys";
import { LAB_HOME, LabHostName, requireLabHost } from "../support/lab";
import { PulumiStack, REPO } from "../support/pulumiStack";

describe("npm run hostkeys against the lab", function () {
  this.timeout(120_000);
  let stack: PulumiStack;

  before(async () => {
    for (const name of ["okome-edge", "okome-model"] as const) await requireLabHost(name);
    stack = await PulumiStack.create({
      prefix: "hkl",
      passphrase: "okome-hostkeys-lab-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
    });
  });
  after(() => stack?.remove());

  it("prints each lab host's true key and fingerprint, pinned by the lab's known_hosts", async () => {
    const r = await stack.exec(["npm", "run", "--silent", "hostkeys", "--", "--stack", stack.name]);
    assert.equal(r.code, 0, r.output);
    const hosts = JSON.parse(fs.readFileSync(path.join(LAB_HOME, "hosts.json"), "utf8")).hosts;
    for (const name of ["okome-edge", "okome-model"] as LabHostName[]) {
      const truth = parseHostKey(hosts[name].hostKey)!;
      const block = r.stdout.split("\n\n").find((b) => b.startsWith(`${name} `));
      assert.ok(block, r.stdout);
      assert.ok(block.includes(`fingerprint: ${fingerprint(truth)}\n`), block);
      assert.ok(block.includes(`'${truth.type} ${truth.base64}'`), block);
      assert.match(block, /pinned now: {2}this key, by known_hosts ~\/\.okome\/lab\/known_hosts/);
    }
    assert.match(r.sshLog, / scan okome-edge 10\.86\.0\.20:22/);
    assert.doesNotMatch(r.sshLog, / connect /, "no session is opened");
  });
});
