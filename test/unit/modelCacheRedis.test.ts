import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { ORCHESTRATOR_USER, RESERVED_USERS } from "../../components/modelCache";
import { REDIS } from "../../components/platform";
import { OkomeBudget, OkomeCache, createRedis } from "../../okome";
import { ACL_LOG_READER, ModelCacheServer } from "../support/modelCacheServer";
import { modelCacheModule } from "../validate/modelCache";
import { CheckResult, StackOutputs, runModules } from "../validate/runner";

/** The stack outputs index.ts would export for this server. */
function outputsOf(server: ModelCacheServer, overrides: StackOutputs = {}): StackOutputs {
  return {
    modelCacheAddress: "127.0.0.1",
    modelCachePort: server.port,
    modelCacheUser: ORCHESTRATOR_USER.name,
    modelCachePassword: server.passwords[ORCHESTRATOR_USER.name],
    modelCacheMonitorUser: RESERVED_USERS.monitor,
    modelCacheMonitorPassword: server.passwords[RESERVED_USERS.monitor],
    modelCacheMaxmemory: "256mb",
    modelCacheMaxmemoryPolicy: "allkeys-lru",
    modelCacheExporter: false,
    ...overrides,
  };
}

async function validate(outputs: StackOutputs): Promise<CheckResult[]> {
  // A throw-away server: the checks that write run too.
  return runModules([modelCacheModule], outputs, { active: true });
}

describe("model cache: the rendered redis.conf and users.acl on a real redis-server", function () {
  this.timeout(60_000);
  let server: ModelCacheServer;

  before(async () => {
    server = await ModelCacheServer.start({
      hostMemory: "1gb",
      maxmemory: "256mb",
      exporter: false,
    });
  });
  after(() => server?.dispose());

  it("passes every check of the validation suite", async () => {
    const failed = (await validate(outputsOf(server))).filter((r) => r.outcome === "fail");
    assert.deepEqual(failed, []);
  });

  it("fails the checks whose expectation the server does not meet", async () => {
    const results = await validate(
      outputsOf(server, { modelCacheMaxmemory: "300mb", modelCachePassword: "not-the-password" }),
    );
    const failed = results.filter((r) => r.outcome === "fail").map((r) => r.name);
    assert.ok(
      failed.some((n) => n.startsWith("maxmemory is 300mb")),
      failed.join("; "),
    );
    assert.ok(
      failed.some((n) => n.startsWith("okome logs in")),
      failed.join("; "),
    );
    assert.ok(
      results.some(
        (r) => r.outcome === "pass" && r.name === "persistence is off: no RDB save points, no AOF",
      ),
    );
  });

  it("checks that the admin may run exactly the host scripts' commands, and fails on an admin with +@all", async () => {
    const adminCheck = (results: CheckResult[]) =>
      results.find((r) => r.name.startsWith(`${RESERVED_USERS.admin} may run exactly`));
    assert.equal(adminCheck(await validate(outputsOf(server)))?.outcome, "pass");

    const acl = server.local(REDIS.aclFile);
    const rendered = fs.readFileSync(acl, "utf8");
    const admin = server.client(RESERVED_USERS.admin);
    await admin.connect();
    try {
      fs.writeFileSync(acl, rendered.replace(/^(user okome-admin on #\w+) .*$/m, "$1 ~* &* +@all"));
      assert.equal(await admin.call("ACL", "LOAD"), "OK");
      const check = adminCheck(await validate(outputsOf(server)));
      assert.equal(check?.outcome, "fail");
      assert.match(check!.reason!, /flushall/);
    } finally {
      fs.writeFileSync(acl, rendered);
      const restore = server.client(RESERVED_USERS.admin);
      await restore.connect();
      await restore.call("ACL", "LOAD");
      restore.disconnect();
      admin.disconnect();
    }
  });

  it("lets the health user SET okome:health:* with a TTL, and nothing else", async () => {
    const health = server.client(RESERVED_USERS.health);
    await health.connect();
    try {
      assert.equal(
        await health.set("okome:health:okome-edge", '{"upstream":"up"}', "EX", 30),
        "OK",
      );
      for (const refused of [
        () => health.get("okome:health:okome-edge"),
        () => health.set("okome:planner:x", "1"),
        () => health.del("okome:health:okome-edge"),
        () => health.call("KEYS", "okome:*"),
        () => health.call("INFO"),
      ])
        await assert.rejects(refused, /NOPERM/);
    } finally {
      health.disconnect();
    }
    const app = server.client(ORCHESTRATOR_USER.name);
    await app.connect();
    try {
      const ttl = await app.pttl("okome:health:okome-edge");
      assert.ok(ttl > 0 && ttl <= 30_000, `PTTL ${ttl}`);
    } finally {
      app.disconnect();
    }
  });

  it("fails, not skips, when a stack output it needs is missing", async () => {
    const without = (key: string) => {
      const outputs: Record<string, unknown> = outputsOf(server, { modelCacheExporter: true });
      delete outputs[key];
      return outputs;
    };
    for (const key of [
      "modelCacheExporterUrl",
      "modelCacheExporter",
      "modelCacheMonitorPassword",
    ]) {
      const failed = (await validate(without(key))).filter((r) => r.outcome === "fail");
      assert.ok(
        failed.some((r) => r.reason?.includes(`stack output ${key} is missing`)),
        `${key}: ${JSON.stringify(failed)}`,
      );
    }
  });

  it("lets the okome library do all it does as the orchestrator's user, and nothing is denied", async () => {
    // Each caller an orchestrator worker of its own: its own connections and cache, so only the
    // stampede lock in Redis can keep the computes to one.
    const workers = [1, 2, 3].map(() => {
      const redis = createRedis({
        port: server.port,
        username: ORCHESTRATOR_USER.name,
        password: server.passwords[ORCHESTRATOR_USER.name],
        commandTimeoutMs: 2000,
        extra: { enableReadyCheck: false },
      });
      return { redis, cache: new OkomeCache({ redis, pollIntervalMs: 5000 }) };
    });
    const [{ redis, cache }] = workers;
    const budget = new OkomeBudget({ redis });
    const aclReader = server.client(ACL_LOG_READER);
    try {
      await aclReader.connect();
      await aclReader.call("ACL", "LOG", "RESET"); // the validation suite's refusals above
      await Promise.all(workers.map((w) => w.cache.ready()));
      let computes = 0;
      const compute = async () => {
        computes++;
        await new Promise((resolve) => setTimeout(resolve, 200));
        return { plan: "ok" };
      };
      // Concurrent callers: one computes under the stampede lock, the others wait for its fill notice.
      const key = `okome:planner:acl-test:${Date.now()}`;
      const results = await Promise.all(
        workers.map((w) => w.cache.getOrCompute(key, compute, { ttlMs: 60_000 })),
      );
      assert.deepEqual(
        results.map((r) => r.value),
        [{ plan: "ok" }, { plan: "ok" }, { plan: "ok" }],
      );
      assert.equal(computes, 1, "one compute across three workers");
      assert.equal((await cache.get(key)).status, "HIT");
      assert.equal((await budget.checkRequest("agent-1")).allowed, true);
      assert.equal((await budget.checkWrite("agent-1", key, 60_000)).allowed, true);
      for (const w of workers) assert.equal(w.cache.metrics().redisErrors, 0);

      const denials = (await aclReader.call("ACL", "LOG")) as unknown[];
      assert.deepEqual(denials, [], "ACL LOG records a denied command or key");
    } finally {
      for (const w of workers) {
        await w.cache.close();
        w.redis.disconnect();
      }
      aclReader.disconnect();
    }
  });
});
