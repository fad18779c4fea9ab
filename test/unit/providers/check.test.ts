import { strict as assert } from "node:assert";
import { check, diff } from "../../../providers/configSet/impl";
import { WireInputs, WireOutputs } from "../../../providers/configSet/wire";
import { SECRET_SIG, UNKNOWN } from "../../../providers/host/wire";

/** The program's wire inputs, as the engine hands them to check() (secrets already plain). */
const news = (over: Record<string, unknown> = {}) => ({
  connection: { name: "okome-model", address: "10.86.0.19", user: "okome", privateKeyPath: "/k" },
  kind: "redis",
  service: "redis",
  files: {
    "/etc/redis/redis.conf": { content: "maxmemory 64mb\n", secret: false },
    "/etc/redis/users.acl": { secret: true, mode: "0640" },
  },
  secretContents: { "/etc/redis/users.acl": "user app on >hunter2\n" },
  validate: "redis-server --test-config",
  activate: "systemctl reload redis-server",
  ...over,
});

describe("provider check() and diff() (no SSH)", () => {
  it("merges secret contents into their files, marked secret leaf by leaf, and drops the side map", async () => {
    const r = await check({}, news());
    assert.equal(r.failures, undefined);
    const inputs = r.inputs as unknown as Record<string, Record<string, Record<string, unknown>>>;
    assert.equal("secretContents" in inputs, false);
    assert.deepEqual(inputs.files["/etc/redis/users.acl"].content, {
      [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270",
      value: "user app on >hunter2\n",
    });
    assert.equal(inputs.files["/etc/redis/redis.conf"].content, "maxmemory 64mb\n");
    assert.equal(inputs.files["/etc/redis/users.acl"].mode, "0640");
  });

  it("fails naming the field, including a secret content for a file the set does not have", async () => {
    const r = await check(
      {},
      news({ secretContents: { "/etc/redis/other.acl": "x" }, activate: "" }),
    );
    assert.deepEqual(
      r.failures!.map((f) => f.property),
      [
        'secretContents["/etc/redis/other.acl"]',
        'files["/etc/redis/users.acl"].content',
        "activate",
      ],
    );
  });

  it("keeps secret contents that are unknown at preview unknown, and still passes", async () => {
    const r = await check({}, news({ secretContents: UNKNOWN }));
    assert.equal(r.failures, undefined);
    const f = (r.inputs as unknown as WireInputs).files["/etc/redis/users.acl"] as unknown as {
      content: { value: string };
    };
    assert.equal(f.content.value, UNKNOWN);
  });

  it("diff says 'changes' while values are still unknown (preview)", async () => {
    assert.deepEqual(
      await diff("id", {} as WireOutputs, { files: UNKNOWN } as unknown as WireInputs),
      { changes: true },
    );
  });
});
