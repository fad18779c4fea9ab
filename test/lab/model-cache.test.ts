/**
 * ModelCacheNode end to end (issue 5): the real `pulumi` binary deploys this project on a
 * throw-away stack (temp backend, lab settings) to the lab's okome-model host, and the
 * validation suite checks the live Redis. Needs `npm run lab:up`; without the lab or pulumi
 * every test fails, none is skipped.
 */
import { strict as assert } from "node:assert";
import Redis from "ioredis";
import * as path from "node:path";
import { LabHost, onHost, requireLabHost } from "../support/lab";
import { PulumiStack, REPO, RunResult } from "../support/pulumiStack";

describe("ModelCacheNode on the lab's okome-model (real pulumi)", function () {
  this.timeout(900_000);
  let host: LabHost;
  let stack: PulumiStack;
  let app: Redis;
  /** redis.conf as it was before this test's stack took over (Debian's, or another stack's). */
  let originalConf: string;

  const ok = (r: RunResult) => assert.equal(r.code, 0, r.output);
  const sh = (command: string) => onHost(host, command).trim();
  /** Redis's run_id: a restart changes it, a live change does not. */
  const runId = () =>
    sh(
      "sudo -n sh -c 'REDISCLI_AUTH=$(cat /etc/okome/secrets/redis-admin) redis-cli -s /run/redis/redis-server.sock --user okome-admin INFO server' | tr -d '\\r' | sed -n 's/^run_id://p'",
    );
  const connectApp = async () => {
    const o = await stack.outputs();
    const c = new Redis({
      host: String(o.modelCacheAddress),
      port: Number(o.modelCachePort),
      username: String(o.modelCacheUser),
      password: String(o.modelCachePassword),
      enableReadyCheck: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    c.on("error", () => undefined);
    await c.connect();
    return c;
  };
  const validates = async () => {
    const r = await stack.exec(["npx", "tsx", "test/validate/index.ts", "--stack", stack.name]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^\d+ passed, 0 failed$/m);
    return r;
  };
  /** The resources a preview would change, as "<op> <name>" (no SSH: preview diffs state). */
  const planned = async () => {
    const r = await stack.run(["preview", "--diff"]);
    ok(r);
    assert.deepEqual(r.connections, {}, "preview opens no SSH session");
    const changes: string[] = [];
    let op: string | undefined;
    for (const line of r.output.split("\n")) {
      const head = /pulumi-nodejs:dynamic\/okome:\w+: \((\w+)\)/.exec(line);
      if (head) op = head[1];
      const urn = /\[urn=\S+::([^\]]+)\]/.exec(line);
      if (urn && op !== undefined) {
        changes.push(`${op} ${urn[1]}`);
        op = undefined;
      }
    }
    return changes.sort();
  };

  before(async () => {
    host = await requireLabHost("okome-model");
    originalConf = sh("sudo -n sha256sum /etc/redis/redis.conf");
    stack = await PulumiStack.create({
      prefix: "mc",
      passphrase: "okome-model-cache-lab-test",
      settingsFrom: path.join(REPO, "Pulumi.lab.yaml"),
    });
  });
  after(async () => {
    app?.disconnect();
    if (!stack) return;
    const d = await stack.dispose();
    assert.equal(d.code, 0, `destroy failed:\n${d.output}`);
    assert.equal(
      sh("sudo -n sha256sum /etc/redis/redis.conf"),
      originalConf,
      "destroy restores the redis.conf it replaced",
    );
  });

  it("up configures the node", async () => {
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(
      sh("systemctl is-active redis-server prometheus-redis-exporter"),
      "active\nactive",
    );
    assert.match(sh("sudo -n redis-cli -s /run/redis/redis-server.sock PING"), /NOAUTH/);
    assert.equal(sh("sudo -n stat -c '%a %U' /etc/okome/secrets/redis-admin"), "600 root");
  });

  it("keeps every password out of the state in plaintext", async () => {
    const o = await stack.outputs();
    const passwords = [
      String(o.modelCachePassword),
      String(o.modelCacheMonitorPassword),
      sh("sudo -n cat /etc/okome/secrets/redis-admin"),
    ];
    assert.ok(passwords.every((p) => p.length >= 40));
    const state = stack.stateText();
    assert.ok(state.length > 0);
    for (const p of passwords)
      assert.ok(!state.includes(p), "a password is in the state in plaintext");
  });

  it("the validation suite passes", async () => {
    await validates();
  });

  it("a second up changes nothing and opens no session", async () => {
    const r = await stack.run(["up", "--yes"]);
    ok(r);
    assert.doesNotMatch(r.output, /to update|to replace|to create|updated|replaced/);
    assert.deepEqual(r.connections, {});
  });

  it("a maxmemory change is applied live: preview shows no restart, and the keys are still there", async () => {
    app = await connectApp();
    const keys = Array.from({ length: 100 }, (_, i) => `okome:lab-test:${i}`);
    for (const k of keys) await app.set(k, `v-${k}`, "PX", 600_000);
    const before = runId();

    ok(await stack.run(["config", "set", "okome-cache:redisMaxmemory", "300mb"]));
    assert.deepEqual(await planned(), ["update model-cache-config"]);
    ok(await stack.run(["up", "--yes", "--skip-preview"]));

    assert.equal(runId(), before, "Redis was not restarted");
    for (const k of keys) assert.equal(await app.get(k), `v-${k}`, `${k} survived`);
    const r = await validates();
    assert.match(r.output, /^PASS model-cache: maxmemory is 300mb/m);
  });

  it("a port change is applied live too: the keys answer on the new port", async () => {
    const before = runId();
    ok(await stack.run(["config", "set", "okome-cache:redisPort", "6380"]));
    assert.deepEqual(await planned(), ["update model-cache-config", "update model-cache-exporter"]);
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(runId(), before, "Redis was not restarted");
    const moved = await connectApp();
    assert.equal(await moved.get("okome:lab-test:0"), "v-okome:lab-test:0");
    moved.disconnect();
    await validates();
  });

  it("a config Redis rejects is rolled back with Redis's message; the running server never sees it", async () => {
    const before = runId();
    const conf = sh("sudo -n sha256sum /etc/redis/redis.conf");
    ok(
      await stack.run([
        "config",
        "set",
        "okome-cache:redisExtraOptions",
        '["maxmemory-samples lots"]',
      ]),
    );
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /'maxmemory-samples lots'/);
    assert.match(r.output, /argument couldn't be parsed into an integer/);
    assert.equal(
      sh("sudo -n sha256sum /etc/redis/redis.conf"),
      conf,
      "redis.conf is the previous one",
    );
    assert.equal(runId(), before, "Redis was not restarted");
    ok(await stack.run(["config", "rm", "okome-cache:redisExtraOptions"]));
    await validates();
  });

  it("a restart-only change shows as an update of model-cache-restart in preview, and up restarts Redis", async () => {
    const before = runId();
    ok(await stack.run(["config", "set", "okome-cache:redisExtraOptions", '["io-threads 2"]']));
    assert.deepEqual(await planned(), ["update model-cache-config", "update model-cache-restart"]);
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    ok(r);
    assert.notEqual(runId(), before, "Redis was restarted");
    await validates();
  });

  it("invalid config fails before any resource is touched, naming the key", async () => {
    ok(await stack.run(["config", "set", "okome-cache:redisMaxmemory", "2gb"]));
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /okome-cache:redisMaxmemory: 2gb is more than 75% of the host's 1gb/);
    assert.deepEqual(r.connections, {});
    ok(await stack.run(["config", "set", "okome-cache:redisMaxmemory", "300mb"]));
  });
});
