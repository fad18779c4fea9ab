import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import {
  KeyPartError,
  fillChannel,
  keys,
  lockKey,
  sha256Hex,
  windowLabel,
} from "../../../okome/keys";

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

describe("okome keys", () => {
  it("builds every key of the schema", () => {
    assert.equal(keys.modelMeta("llama3-8b"), "okome:model_meta:llama3-8b");
    assert.equal(
      keys.planner({
        model: "llama3-8b",
        prompt: "plan a trip",
        toolset: "web-v2",
        repo: "tree-abc",
      }),
      `okome:planner:llama3-8b:${sha("plan a trip")}:web-v2:${sha("tree-abc")}`,
    );
    assert.equal(keys.rag("okome-ui", "chunk text"), `okome:rag:okome-ui:${sha("chunk text")}`);
    assert.equal(keys.tools("1.4.2"), "okome:tools:1.4.2");
    assert.equal(keys.health("pi-edge"), "okome:health:pi-edge");
    assert.equal(keys.budgetRequests("agent-7", 60_000), "okome:budget:rl:agent-7:60s");
    assert.equal(keys.budgetWrites("agent-7", 1500), "okome:budget:writes:agent-7:1500ms");
    assert.equal(keys.agentKeys("agent-7"), "okome:agentkeys:agent-7");
  });

  it("hashes prompt and repo content with sha256, strings and bytes alike", () => {
    assert.equal(
      sha256Hex("abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    assert.equal(sha256Hex(Buffer.from("abc")), sha256Hex("abc"));
    const a = keys.planner({
      model: "m",
      prompt: "p: with colon\nand newline",
      toolset: "t",
      repo: "r",
    });
    assert.equal(a.split(":").length, 6, "hashed parts cannot add separators");
  });

  it("gives different prompts different keys and the same prompt the same key", () => {
    const base = { model: "m", toolset: "t", repo: "r" };
    assert.equal(keys.planner({ ...base, prompt: "x" }), keys.planner({ ...base, prompt: "x" }));
    assert.notEqual(keys.planner({ ...base, prompt: "x" }), keys.planner({ ...base, prompt: "y" }));
  });

  const bad: [string, () => string, string, RegExp][] = [
    ["empty model", () => keys.modelMeta(""), "model", /empty/],
    ["colon in model", () => keys.modelMeta("a:b"), "model", /':' \(at index 1\)/],
    [
      "space in toolset",
      () => keys.planner({ model: "m", prompt: "", toolset: "a b", repo: "" }),
      "toolset",
      /U\+0020/,
    ],
    ["tab in repo", () => keys.rag("re\tpo", "c"), "repo", /U\+0009/],
    ["newline in node", () => keys.health("pi\n"), "node", /U\+000a/],
    ["NUL in tool version", () => keys.tools("1\u0000"), "tool_version", /U\+0000/],
    ["no-break space in agent", () => keys.agentKeys("a\u00a0b"), "agent", /U\+00a0/],
    ["colon in agent", () => keys.budgetRequests("a:b", 1000), "agent", /':'/],
    ["zero window", () => keys.budgetWrites("a", 0), "window", /positive integer/],
    ["fractional window", () => windowLabel(1.5), "window", /positive integer/],
  ];
  for (const [name, build, part, reason] of bad) {
    it(`rejects ${name}, naming the part`, () => {
      assert.throws(build, (err: unknown) => {
        assert.ok(err instanceof KeyPartError);
        assert.equal(err.part, part);
        assert.match(err.message, new RegExp(`"${part}"`));
        assert.match(err.reason, reason);
        return true;
      });
    });
  }

  it("nests the whole cache key in its lock key and fill channel", () => {
    const key = keys.tools("1.0");
    assert.equal(lockKey(key), "okome:lock:okome:tools:1.0");
    assert.equal(fillChannel(key), "okome:fill:okome:tools:1.0");
  });
});
