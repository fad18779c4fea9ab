import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigSet, ManagedFile } from "../../../providers";
import { filesToWire, resolveFiles } from "../../../providers/configSet/resource";

const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply((v) => resolve(v)));

describe("ConfigSet (program side, under Pulumi mocks)", () => {
  before(() =>
    pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs });
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: () => ({}),
      },
      "okome-cache",
      "unit",
      false,
    ),
  );

  const connection = {
    name: "okome-model",
    address: "10.86.0.19",
    user: "okome",
    privateKeyPath: "/k",
  };

  it("registers one dynamic resource with the files keyed by path and defaults left to check()", async () => {
    const set = new ConfigSet("model-redis", {
      connection,
      kind: "redis",
      service: "redis",
      files: [
        { path: "/etc/redis/redis.conf", content: "maxmemory 64mb\n" },
        {
          path: "/etc/redis/users.acl",
          content: "user app on >pw\n",
          mode: "0640",
          group: "redis",
          secret: true,
        },
      ],
      validate: "redis-server /etc/redis/redis.conf --test-memory 1",
      activate: "redis-cli CONFIG SET maxmemory 64mb",
    });
    await value(set.urn);
    const r = registered.find((x) => x.name === "model-redis")!;
    assert.equal(r.type, "pulumi-nodejs:dynamic/okome:ConfigSet");
    assert.deepEqual(Object.keys(r.inputs.files as object), [
      "/etc/redis/redis.conf",
      "/etc/redis/users.acl",
    ]);
    assert.deepEqual((r.inputs.files as Record<string, unknown>)["/etc/redis/redis.conf"], {
      content: "maxmemory 64mb\n",
      secret: false,
    });
    assert.equal(r.inputs.listIssues, undefined);
    assert.equal(typeof r.inputs.__provider, "string");
  });

  it("turns duplicate paths into issues that check() reports by list index", () => {
    const { files, issues } = filesToWire([
      { path: "/etc/a", content: "1" },
      { path: "/etc/b", content: "2" },
      { path: "/etc/a", content: "3" },
    ]);
    assert.deepEqual(Object.keys(files), ["/etc/a", "/etc/b"]);
    assert.deepEqual(issues, [
      { path: "files[2].path", reason: "duplicates files[0].path (/etc/a)" },
    ]);
  });

  it("sends secret contents apart, as one secret, so the files map stays readable", async () => {
    const set = new ConfigSet("with-secret", {
      connection,
      kind: "plain",
      service: "okome-test",
      files: [
        { path: "/etc/plain", content: "a" },
        { path: "/etc/secret", content: "pw", secret: true },
      ],
      activate: "true",
    });
    await value(set.urn);
    const r = registered.find((x) => x.name === "with-secret")!;
    assert.deepEqual(r.inputs.files, {
      "/etc/plain": { content: "a", secret: false },
      "/etc/secret": { secret: true },
    });
    const { files, secretContents } = filesToWire([
      { path: "/etc/secret", content: "pw", secret: true },
    ]);
    assert.deepEqual(
      [files, secretContents],
      [{ "/etc/secret": { secret: true } }, { "/etc/secret": "pw" }],
    );
  });

  it("treats a file given as a secret Output as secret, and every file of a secret list", async () => {
    const plain: ManagedFile = { path: "/etc/a", content: "a" };
    const hidden = pulumi.secret<ManagedFile>({ path: "/etc/b", content: "pw" });
    const perFile = await value(resolveFiles([plain, hidden]));
    assert.deepEqual(
      perFile.map((f) => [f.path, f.secret]),
      [
        ["/etc/a", false],
        ["/etc/b", true],
      ],
    );
    const wholeList = await value(resolveFiles(pulumi.secret([plain])));
    assert.deepEqual(
      wholeList.map((f) => f.secret),
      [true],
    );
  });
});
