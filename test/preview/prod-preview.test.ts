/**
 * `pulumi preview` of the prod stack as PR CI runs it: the real pulumi on throw-away stacks
 * configured from Pulumi.prod.yaml (temp backend, a test passphrase), with a deploy key path
 * that does not exist (a CI runner has no key), each command inside a network namespace of
 * its own with only loopback up: an SSH attempt to a Pi fails at once and cannot leave the
 * machine. No SSH is the claim; the providers' $OKOME_SSH_LOG is the witness, and a control
 * run that does try SSH (to loopback) shows the witness would see it. Needs root (ip netns).
 *
 * The real Pis' host keys are not known here, and prod refuses an unpinned host (issue 9): these
 * stacks pin fixture keys (generated per run) over whatever Pulumi.prod.yaml pins, and one case
 * removes the pins to show that the preview then fails naming the keys to set.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EmptyNetns } from "../support/netns";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";
import { sshEvents } from "../support/sshLog";
import { newKeyPair } from "../support/keys";
import { PREVIEW_WORKFLOW, previewCommand } from "../support/previewWorkflow";
import { VALIDATION_COMMAND } from "../../components/deploymentGate";

const PROD_SETTINGS = path.join(REPO, "Pulumi.prod.yaml");
const MISSING_KEY = "/nonexistent/okome-ci-runner/okome_deploy";
const HOST_KEY_SETTINGS = ["okome-cache:edgeHostKey", "okome-cache:modelHostKey"];

/** The `okome-cache:` settings of a stack file, as `pulumi preview --json` reports config. */
function settingsOf(file: string): Record<string, string> {
  const lines = fs.readFileSync(file, "utf8").matchAll(/^ {2}(okome-cache:\S+): (.*)$/gm);
  return Object.fromEntries([...lines].map((m) => [m[1], m[2]]));
}

/** One step of `pulumi preview --json`. */
interface Step {
  op: string;
  urn: string;
  newState?: { type: string; parent?: string; inputs?: Record<string, unknown> };
}

describe("prod stack: pulumi preview opens no SSH (as PR CI runs it)", function () {
  this.timeout(180_000);
  let netns: EmptyNetns;
  const committed = fs.readFileSync(PROD_SETTINGS);
  const stackFilesBefore = fs.readdirSync(REPO).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
  const stacks: PulumiStack[] = [];
  /** Fixture host keys (`type base64`) by setting: stand-ins for the Pis' real keys. */
  let fixtureHostKeys: Record<string, string>;

  /**
   * A stack set up exactly from Pulumi.prod.yaml, then with the fixture host keys pinned (or,
   * when `pinned` is false, no pins at all) and `config` on top of the copy.
   */
  const prodStack = async (config: Record<string, string> = {}, pinned = true) => {
    const stack = await PulumiStack.create({
      prefix: "pv",
      passphrase: "okome-prod-preview-test",
      settingsFrom: PROD_SETTINGS,
      // The gate as prod has it: planned, and (the claim here) never run by a preview.
      validateAfterUp: "as settings",
      netns: netns.name,
    });
    stacks.push(stack);
    if (!pinned) for (const key of HOST_KEY_SETTINGS) ok(await stack.run(["config", "rm", key]));
    const all = {
      "okome-cache:sshPrivateKeyPath": MISSING_KEY,
      ...(pinned ? fixtureHostKeys : {}),
      ...config,
    };
    for (const [key, value] of Object.entries(all))
      ok(await stack.run(["config", "set", key, value]));
    return stack;
  };
  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);

  before(() => {
    assert.ok(!fs.existsSync(MISSING_KEY), `${MISSING_KEY} must not exist`);
    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-pv-keys-"));
    fixtureHostKeys = Object.fromEntries(
      HOST_KEY_SETTINGS.map((setting, i) => {
        const line = newKeyPair(path.join(keyDir, `host-${i}`), "fixture");
        return [setting, line.split(" ").slice(0, 2).join(" ")];
      }),
    );
    fs.rmSync(keyDir, { recursive: true });
    netns = new EmptyNetns("okome-pv");
    // The namespace has loopback and nothing else: the Pis' addresses are unreachable in it.
    assert.ok(!netns.routes("192.168.86.19"), `192.168.86.19 must not route in ${netns.name}`);
  });
  after(() => {
    for (const stack of stacks) stack.remove();
    netns?.remove();
  });

  it("preview succeeds and plans the ModelCacheNode children with the prod values", async () => {
    const stack = await prodStack();
    const r = await stack.run(["preview", "--json"]);
    ok(r);
    assert.equal(r.sshLog, "", "no SSH attempt, connection or command");
    const plan = JSON.parse(r.stdout) as { config: Record<string, string>; steps: Step[] };
    const expected = settingsOf(PROD_SETTINGS);
    assert.ok(Object.keys(expected).length >= 9, "Pulumi.prod.yaml was read");
    assert.deepEqual(plan.config, {
      ...expected,
      ...fixtureHostKeys,
      "okome-cache:sshPrivateKeyPath": MISSING_KEY,
    });

    const node = plan.steps.find((s) => s.newState?.type === "okome:infra:ModelCacheNode");
    assert.ok(node, "a ModelCacheNode is planned");
    const children = plan.steps.filter((s) => s.newState?.parent === node.urn);
    const names = children.map((s) => `${s.newState!.type.split(":").pop()} ${s.urn.split("::").pop()}`); // prettier-ignore
    assert.deepEqual(names.sort(), [
      "ConfigSet model-cache-config",
      "ConfigSet model-cache-exporter",
      "ConfigSet model-cache-restart",
      "ConfigSet model-cache-scripts",
      "SecretPassword model-cache-okome-admin-password",
      "SecretPassword model-cache-okome-health-password",
      "SecretPassword model-cache-okome-monitor-password",
      "SecretPassword model-cache-okome-password",
    ]);
    assert.deepEqual([...new Set(plan.steps.map((s) => s.op))], ["create"]);
    for (const set of children.filter((s) => s.newState!.type.endsWith(":ConfigSet")))
      assert.deepEqual(set.newState!.inputs!.connection, {
        name: "okome-model",
        address: "192.168.86.19",
        port: 22,
        user: "okome",
        privateKeyPath: MISSING_KEY,
        hostKey: fixtureHostKeys["okome-cache:modelHostKey"],
      });

    // Both edges are planned with prod's cache size and orchestrator.
    for (const edge of ["edge-cache", "standby-edge"]) {
      const nginx = plan.steps.find((s) => s.urn.endsWith(`::${edge}-nginx`));
      const files = nginx?.newState?.inputs?.files as Record<string, { content: string }>;
      assert.match(files["/etc/nginx/okome/cache.conf"].content, /max_size=2g /, edge);
      assert.match(
        files["/etc/nginx/okome/upstreams.conf"].content,
        /server 192\.168\.86\.25:8000 /,
      );
    }

    // The deployment gate is planned with prod's read-only suite (a preview runs no command:
    // test/toolchain shows it).
    const gate = plan.steps.find((s) => s.newState?.type === "command:local:Command");
    assert.equal(gate?.urn.split("::").pop(), "validate-after-up");
    assert.equal(gate?.newState?.inputs?.create, VALIDATION_COMMAND);

    // The same preview as text: the node's outputs carry the prod memory budget.
    const text = await stack.run(["preview"]);
    ok(text);
    assert.match(text.output, /^\s+modelCacheMaxmemory\s+: "4gb"$/m);
    assert.match(text.output, /^\s+modelCacheAddress\s+: "192\.168\.86\.19"$/m);
    assert.equal(text.sshLog, "");
  });

  it("the PR workflow's own preview command (.github/workflows/preview.yml) shows the diff", async () => {
    const stack = await prodStack();
    // Exactly the workflow's words, on this copy of prod instead of prod itself.
    const command = previewCommand();
    const at = command.indexOf("prod");
    assert.equal(command[at - 1], "-s", `${PREVIEW_WORKFLOW}: -s prod in ${command.join(" ")}`);
    const r = await stack.exec(command.map((word, i) => (i === at ? stack.name : word)));
    ok(r);
    assert.equal(r.sshLog, "", "no SSH attempt, connection or command");
    assert.match(r.output, new RegExp(`Previewing update \\(${stack.name}\\)`));
    // --diff prints every planned input: the connections go to prod's two Pis.
    for (const address of ["192.168.86.19", "192.168.86.20"])
      assert.match(r.output, new RegExp(`^ +address +: "${address.replace(/\./g, "\\.")}"$`, "m"));
    assert.match(r.output, /^Resources:\n +\+ \d+ to create$/m);
    assert.ok(!r.output.includes("\u001b["), "no colour codes in the PR comment");
  });

  it("with the passwords in state, as in the real prod state, preview shows redis.conf with the prod values", async () => {
    const stack = await prodStack();
    // Only the node and its passwords: generated locally by their provider, nothing is applied.
    const node = `urn:pulumi:${stack.name}::okome-cache::okome:infra:ModelCacheNode`;
    const targets = [
      `${node}::model-cache`,
      ...["okome", "okome-admin", "okome-monitor", "okome-health"].map(
        (u) => `${node}$pulumi-nodejs:dynamic/okome:SecretPassword::model-cache-${u}-password`,
      ),
    ];
    const up = await stack.run([
      "up",
      "--yes",
      "--skip-preview",
      ...targets.flatMap((urn) => ["--target", urn]),
    ]);
    ok(up);
    assert.match(up.output, /\+ 6 created/, "the stack, the node and four passwords");
    assert.equal(up.sshLog, "");

    const r = await stack.run(["preview", "--json"]);
    ok(r);
    assert.equal(r.sshLog, "", "no SSH attempt, connection or command");
    const plan = JSON.parse(r.stdout) as { steps: Step[]; changeSummary: Record<string, number> };
    assert.equal(plan.changeSummary.same, 6, "the stack, the node and four passwords");
    const nodeCreates = plan.steps.filter(
      (s) => s.op === "create" && s.urn.includes("okome:infra:ModelCacheNode$"),
    );
    assert.equal(nodeCreates.length, 4, "the node's four config sets");
    const config = plan.steps.find((s) => s.urn.endsWith("::model-cache-config"));
    const files = config?.newState?.inputs?.files as Record<string, { content: string }>;
    const redisConf = files["/etc/redis/redis.conf"].content;
    assert.match(redisConf, /^bind 127\.0\.0\.1 192\.168\.86\.19$/m);
    assert.match(redisConf, /^maxmemory 4gb$/m);
    assert.match(redisConf, /^maxmemory-policy allkeys-lru$/m);
  });

  it("a bad prod value fails the preview naming the key, before any resource", async () => {
    const stack = await prodStack({ "okome-cache:vip": "192.168.86.300" });
    const r = await stack.run(["preview"]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /stack config \(okome-cache\): 1 invalid setting/);
    assert.match(r.output, /- okome-cache:vip: must be an IPv4 address/);
    assert.doesNotMatch(r.output, /ModelCacheNode|ConfigSet|SecretPassword/);
    assert.equal(r.sshLog, "");
  });

  it("without pinned host keys, the preview fails naming both keys, before any resource", async () => {
    const stack = await prodStack({}, false);
    const r = await stack.run(["preview"]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /stack config \(okome-cache\): 2 invalid settings/);
    for (const setting of HOST_KEY_SETTINGS)
      assert.match(r.output, new RegExp(`- ${setting}: is required for prod: .*npm run hostkeys -- --stack ${stack.name}`)); // prettier-ignore
    assert.doesNotMatch(r.output, /ModelCacheNode|ConfigSet|SecretPassword/);
    assert.equal(r.sshLog, "");
  });

  it("control: a run that does try SSH shows in the log (here to loopback, which refuses)", async () => {
    const stack = await prodStack({
      "okome-cache:modelAddress": "127.0.0.1",
      "okome-cache:edgeAddress": "127.0.0.2",
    });
    const key = path.join(stack.root, "id_ed25519");
    newKeyPair(key);
    ok(await stack.run(["config", "set", "okome-cache:sshPrivateKeyPath", key]));
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /okome-(edge|model) \(okome@127\.0\.0\.[12]:22\): cannot connect/);
    const attempts = sshEvents(r.sshLog, "attempt");
    assert.ok(attempts.length > 0, `attempts are logged:\n${r.sshLog}`);
    for (const line of attempts)
      assert.match(line, / attempt (okome-model 127\.0\.0\.1|okome-edge 127\.0\.0\.2):22 /);
    assert.deepEqual(sshEvents(r.sshLog, "connect"), []);
  });

  it("leaves the repo's stack files as committed", () => {
    assert.ok(fs.readFileSync(PROD_SETTINGS).equals(committed), "Pulumi.prod.yaml is unchanged");
    const now = fs.readdirSync(REPO).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
    assert.deepEqual(now, stackFilesBefore, "no stack settings file in the repo");
  });
});
