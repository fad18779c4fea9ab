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
  /** An unconnected client of the node from the stack outputs, as `user` when given; no retries. */
  const client = async (user?: "app" | "monitor") => {
    const o = await stack.outputs();
    const credentials = {
      app: { username: String(o.modelCacheUser), password: String(o.modelCachePassword) },
      monitor: {
        username: String(o.modelCacheMonitorUser),
        password: String(o.modelCacheMonitorPassword),
      },
    };
    const c = new Redis({
      host: String(o.modelCacheAddress),
      port: Number(o.modelCachePort),
      ...(user && credentials[user]),
      enableReadyCheck: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on("error", () => undefined);
    return c;
  };
  /** Runs `command` as the monitor user (the admin may run INFO no more), over TCP as the exporter does. */
  const asMonitor = async (...command: string[]) => {
    const c = await client("monitor");
    try {
      await c.connect();
      return String(await c.call(command[0], ...command.slice(1)));
    } finally {
      c.disconnect();
    }
  };
  /** Redis's run_id: a restart changes it, a live change does not. */
  const runId = async () => /^run_id:(\w+)/m.exec(await asMonitor("INFO", "server"))?.[1];
  const configGet = async (name: string) => (await asMonitor("CONFIG", "GET", name)).split(",")[1];
  /** "mode owner:group path" of each path. */
  const modes = (...paths: string[]) => sh(`sudo -n stat -c '%a %U:%G %n' ${paths.join(" ")}`);
  const connectApp = async () => {
    const c = await client("app");
    await c.connect();
    return c;
  };
  const validates = async () => {
    const r = await stack.validate();
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

  const OWNERSHIP = [
    "750 root:redis /etc/redis",
    "640 root:redis /etc/redis/redis.conf",
    "640 root:redis /etc/redis/users.acl",
    "700 root:root /etc/okome/secrets",
    "750 root:prometheus /etc/okome/prometheus-secrets",
    "640 root:prometheus /etc/okome/prometheus-secrets/redis-exporter.json",
  ];
  const STATOVERRIDES = ["root redis 750 /etc/redis", "root redis 640 /etc/redis/redis.conf"];
  const ownership = () => modes(...OWNERSHIP.map((line) => line.split(" ")[2])).split("\n");
  const statoverrides = () =>
    sh("sudo -n dpkg-statoverride --list")
      .split("\n")
      .filter((line) => line.endsWith(" /etc/redis") || line.includes(" /etc/redis/"));

  it("makes Redis's config root's, readable by group redis, with statoverrides of its own; secrets dirs tight", () => {
    assert.deepEqual(ownership(), OWNERSHIP);
    assert.deepEqual(statoverrides(), STATOVERRIDES);
  });

  it("keeps that ownership when the redis packages' postinst runs again (an upgrade), and Redis still reads its config", () => {
    // As dpkg runs them on an upgrade from the installed version (redis-server's then restarts
    // Redis, which must read its root-owned config as the redis user).
    for (const pkg of ["redis-tools", "redis-server"]) {
      sh(
        `sudo -n env DPKG_MAINTSCRIPT_PACKAGE=${pkg} DPKG_MAINTSCRIPT_NAME=postinst DPKG_MAINTSCRIPT_ARCH=$(dpkg --print-architecture) /var/lib/dpkg/info/${pkg}.postinst configure "$(dpkg-query -W -f='\${Version}' ${pkg})"`,
      );
    }
    assert.deepEqual(ownership(), OWNERSHIP);
    assert.deepEqual(statoverrides(), STATOVERRIDES);
    assert.match(
      sh("sudo -n /usr/local/sbin/okome-redis-server-candidate"),
      /redis-server accepts \/etc\/redis\/redis\.conf/,
    );
    assert.equal(sh("systemctl is-active redis-server"), "active");
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
    const before = await runId();

    ok(await stack.run(["config", "set", "okome-cache:redisMaxmemory", "300mb"]));
    assert.deepEqual(await planned(), ["update model-cache-config"]);
    ok(await stack.run(["up", "--yes", "--skip-preview"]));

    assert.equal(await runId(), before, "Redis was not restarted");
    for (const k of keys) assert.equal(await app.get(k), `v-${k}`, `${k} survived`);
    const r = await validates();
    assert.match(r.output, /^PASS model-cache: maxmemory is 300mb/m);
  });

  it("a port change is applied live too: the keys answer on the new port", async () => {
    const before = await runId();
    ok(await stack.run(["config", "set", "okome-cache:redisPort", "6380"]));
    // The edges' health probes write their key to the new port too, and okome-validate on both
    // nodes checks Redis there.
    assert.deepEqual(await planned(), [
      "update edge-cache-health",
      "update model-cache-config",
      "update model-cache-exporter",
      "update ops-edge-settings",
      "update ops-model-settings",
      "update standby-edge-health",
    ]);
    ok(await stack.run(["up", "--yes", "--skip-preview"]));
    assert.equal(await runId(), before, "Redis was not restarted");
    const moved = await connectApp();
    assert.equal(await moved.get("okome:lab-test:0"), "v-okome:lab-test:0");
    moved.disconnect();
    await validates();
  });

  it("rotating the orchestrator's password (README: Recovery) keeps the cache: no restart, the keys stay", async () => {
    const before = await runId();
    const oldPassword = String((await stack.outputs()).modelCachePassword);
    const urns = await stack.run(["stack", "--show-urns"]);
    ok(urns);
    const urn = /urn:pulumi:\S*SecretPassword::model-cache-okome-password/.exec(urns.output)?.[0];
    assert.ok(urn, "the orchestrator's password resource is listed");
    ok(await stack.run(["up", "--yes", "--skip-preview", "--replace", urn]));
    const newPassword = String((await stack.outputs()).modelCachePassword);
    assert.notEqual(newPassword, oldPassword);
    assert.equal(await runId(), before, "Redis was not restarted");
    const rotated = await connectApp();
    assert.equal(
      await rotated.get("okome:lab-test:0"),
      "v-okome:lab-test:0",
      "the keys are still there",
    );
    rotated.disconnect();
    const o = await stack.outputs();
    // AUTH on an unauthenticated connection: the old password is refused, the new one accepted.
    const probe = await client();
    try {
      await probe.connect();
      await assert.rejects(probe.call("AUTH", String(o.modelCacheUser), oldPassword), /WRONGPASS/);
      assert.equal(await probe.call("AUTH", String(o.modelCacheUser), newPassword), "OK");
    } finally {
      probe.disconnect();
    }
    await validates();
  });

  it("a config Redis rejects is rolled back with Redis's message; the running server never sees it", async () => {
    const before = await runId();
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
    assert.equal(await runId(), before, "Redis was not restarted");
    ok(await stack.run(["config", "rm", "okome-cache:redisExtraOptions"]));
    await validates();
  });

  it("a restart-only change shows as an update of model-cache-restart in preview, and up restarts Redis", async () => {
    const before = await runId();
    ok(await stack.run(["config", "set", "okome-cache:redisExtraOptions", '["io-threads 2"]']));
    assert.deepEqual(await planned(), ["update model-cache-config", "update model-cache-restart"]);
    const r = await stack.run(["up", "--yes", "--skip-preview"]);
    ok(r);
    assert.notEqual(await runId(), before, "Redis was restarted");
    await validates();
  });

  it("a restart-only setting Redis cannot start with fails the up and leaves Redis running on the previous one", async () => {
    // The unit refuses to start with io-threads 3, as it would on a setting the candidate (no TCP,
    // no unit) cannot catch. "+": outside the unit's sandbox (NoExecPaths), which would refuse
    // the shell itself. Runtime drop-in: gone at the lab host's next boot at the latest.
    const dropIn = "/run/systemd/system/redis-server.service.d/okome-test-refuse.conf";
    sh(
      `sudo -n mkdir -p ${path.dirname(dropIn)} && printf '%s\\n' '[Service]' 'ExecStartPre=+/bin/sh -c "! grep -qx \\"io-threads 3\\" /etc/redis/redis.conf"' | sudo -n tee ${dropIn} >/dev/null && sudo -n systemctl daemon-reload`,
    );
    try {
      ok(await stack.run(["config", "set", "okome-cache:redisExtraOptions", '["io-threads 3"]']));
      const r = await stack.run(["up", "--yes", "--skip-preview"]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.output,
        /did not start with io-threads 3 .*runs again with the previous io-threads 2/,
      );
      assert.equal(sh("systemctl is-active redis-server"), "active");
      assert.equal(await configGet("io-threads"), "2");
    } finally {
      sh(`sudo -n rm -f ${dropIn} && sudo -n systemctl daemon-reload`);
    }
    // The operator fixed the cause: a refresh sees the file the fallback wrote, and up restarts.
    ok(await stack.run(["up", "--yes", "--skip-preview", "--refresh"]));
    assert.equal(await configGet("io-threads"), "3");
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
