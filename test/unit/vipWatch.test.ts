import { strict as assert } from "node:assert";
import { Sample, failoverWindow, holders } from "../lab/vipLab";

const at = (ms: number, node: string | null): Sample => ({ at: ms, node });

describe("VIP watch arithmetic (test/lab/vipLab.ts)", () => {
  const samples = [
    at(0, "okome-edge"),
    at(20, "okome-edge"),
    at(40, null),
    at(290, null),
    at(310, "okome-model"),
    at(330, "okome-model"),
  ];

  it("the failover window runs from the old holder's last answer to the new one's first", () => {
    assert.equal(failoverWindow(samples, "okome-edge", "okome-model"), 290);
  });

  it("fails when the new holder never answered, or the old one never did before it", () => {
    assert.throws(
      () => failoverWindow(samples.slice(0, 3), "okome-edge", "okome-model"),
      /never answered/,
    );
    assert.throws(
      () => failoverWindow(samples.slice(3), "okome-edge", "okome-model"),
      /never answered before/,
    );
  });

  it("lists each run of answers by one node once, gaps ignored", () => {
    assert.deepEqual(holders(samples), ["okome-edge", "okome-model"]);
    assert.deepEqual(holders([...samples, at(400, null), at(420, "okome-edge")]), [
      "okome-edge",
      "okome-model",
      "okome-edge",
    ]);
  });
});
