import { strict as assert } from "node:assert";
import { TTL_RANGES, ttlMs } from "../../../okome/ttl";

const MIN = 60_000;

describe("okome ttl", () => {
  it("gives the fixed TTLs of model meta, tools and health", () => {
    assert.equal(ttlMs("modelMeta"), 24 * 60 * MIN);
    assert.equal(ttlMs("tools"), 10 * MIN);
    assert.equal(ttlMs("health"), 30_000);
  });

  it("spans planner 5-15 min and RAG 30-60 min, ends included", () => {
    assert.equal(
      ttlMs("planner", () => 0),
      5 * MIN,
    );
    assert.equal(
      ttlMs("planner", () => 1 - Number.EPSILON),
      15 * MIN,
    );
    assert.equal(
      ttlMs("rag", () => 0),
      30 * MIN,
    );
    assert.equal(
      ttlMs("rag", () => 1 - Number.EPSILON),
      60 * MIN,
    );
    assert.equal(
      ttlMs("planner", () => 0.5),
      10 * MIN,
    );
  });

  it("jitters keys written together so they do not expire together", () => {
    let seed = 42;
    const lcg = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const ttls = Array.from({ length: 1000 }, () => ttlMs("planner", lcg));
    const { minMs, maxMs } = TTL_RANGES.planner;
    assert.ok(ttls.every((t) => Number.isInteger(t) && t >= minMs && t <= maxMs));
    // 1000 uniform draws over 601 seconds land in about 490 distinct seconds.
    const seconds = new Set(ttls.map((t) => Math.floor(t / 1000)));
    assert.ok(seconds.size > 400, `expiries spread over ${seconds.size} distinct seconds`);
    const mean = ttls.reduce((a, b) => a + b, 0) / ttls.length;
    assert.ok(Math.abs(mean - 10 * MIN) < 30_000, `mean ${mean} near the middle of the range`);
  });

  it("does not draw randomness for fixed TTLs", () => {
    assert.equal(
      ttlMs("tools", () => assert.fail("random source called")),
      10 * MIN,
    );
  });

  it("rejects a random source outside [0, 1) and an unknown kind", () => {
    assert.throws(() => ttlMs("planner", () => 1), /\[0, 1\)/);
    assert.throws(() => ttlMs("planner", () => Number.NaN), /\[0, 1\)/);
    assert.throws(() => ttlMs("bogus" as "planner"), /unknown cache kind "bogus"/);
  });
});
