import { strict as assert } from "node:assert";
import { ORCHESTRATOR_USER, RESERVED_USERS } from "../../components/modelCache";
import { OkomeBudget, OkomeCache, createRedis } from "../../okome";
import { ModelCacheServer } from "../support/modelCacheServer";
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
    ...overrides,
  };
}

async function validate(outputs: StackOutputs): Promise<CheckResult[]> {
  const lines: string[] = [];
  const results = await runModules([modelCacheModule], outputs, (l) => lines.push(l));
  assert.equal(lines.length, results.length);
  return results;
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
    const failed = (await validate(outputsOf(server))).filter((r) => !r.ok);
    assert.deepEqual(failed, []);
  });

  it("fails the checks whose expectation the server does not meet", async () => {
    const results = await validate(
      outputsOf(server, { modelCacheMaxmemory: "300mb", modelCachePassword: "not-the-password" }),
    );
    const failed = results.filter((r) => !r.ok).map((r) => r.name);
    assert.ok(
      failed.some((n) => n.startsWith("maxmemory is 300mb")),
      failed.join("; "),
    );
    assert.ok(
      failed.some((n) => n.startsWith("okome logs in")),
      failed.join("; "),
    );
    assert.ok(
      results.some((r) => r.ok && r.name === "persistence is off: no RDB save points, no AOF"),
    );
  });

  it("lets the okome library do all it does as the orchestrator's user, and nothing is denied", async () => {
    const redis = createRedis({
      port: server.port,
      username: ORCHESTRATOR_USER.name,
      password: server.passwords[ORCHESTRATOR_USER.name],
      commandTimeoutMs: 2000,
      extra: { enableReadyCheck: false },
    });
    const cache = new OkomeCache({ redis, pollIntervalMs: 5000 });
    const budget = new OkomeBudget({ redis });
    const admin = server.client(RESERVED_USERS.admin);
    try {
      await admin.connect();
      await admin.call("ACL", "LOG", "RESET"); // the validation suite's refusals above
      await cache.ready();
      let computes = 0;
      const compute = async () => {
        computes++;
        await new Promise((resolve) => setTimeout(resolve, 200));
        return { plan: "ok" };
      };
      // Concurrent callers: one computes under the stampede lock, the others wait for its fill notice.
      const key = `okome:planner:acl-test:${Date.now()}`;
      const results = await Promise.all(
        [1, 2, 3].map(() => cache.getOrCompute(key, compute, { ttlMs: 60_000 })),
      );
      assert.deepEqual(
        results.map((r) => r.value),
        [{ plan: "ok" }, { plan: "ok" }, { plan: "ok" }],
      );
      assert.equal((await cache.get(key)).status, "HIT");
      assert.equal((await budget.checkRequest("agent-1")).allowed, true);
      assert.equal((await budget.checkWrite("agent-1", key, 60_000)).allowed, true);
      assert.equal(cache.metrics().redisErrors, 0);
      assert.ok(computes >= 1);

      const denials = (await admin.call("ACL", "LOG")) as unknown[];
      assert.deepEqual(denials, [], "ACL LOG records a denied command or key");
    } finally {
      await cache.close();
      redis.disconnect();
      admin.disconnect();
    }
  });
});
