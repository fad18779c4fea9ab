import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UPDATE_GOLDEN_ENV, expectGolden, lineDiff } from "../support/golden";

describe("golden-file helper (test/support/golden.ts)", () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "okome-golden-"));
    saved = process.env[UPDATE_GOLDEN_ENV];
    delete process.env[UPDATE_GOLDEN_ENV];
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env[UPDATE_GOLDEN_ENV];
    else process.env[UPDATE_GOLDEN_ENV] = saved;
  });

  it("passes on the same text and fails with a line diff on another", () => {
    const file = path.join(dir, "redis.conf");
    fs.writeFileSync(file, "port 6379\nbind 127.0.0.1\nmaxmemory 4gb\n");
    expectGolden(file, "port 6379\nbind 127.0.0.1\nmaxmemory 4gb\n");
    assert.throws(
      () =>
        expectGolden(file, "port 6379\nbind 127.0.0.1\nmaxmemory 2gb\n", "/etc/redis/redis.conf"),
      (error: Error) =>
        /^\/etc\/redis\/redis\.conf differs from .*OKOME_UPDATE_GOLDEN=1 rewrites it/.test(
          error.message,
        ) && /^- maxmemory 4gb\n\+ maxmemory 2gb$/m.test(error.message),
    );
  });

  it("says how to create a missing golden file, and OKOME_UPDATE_GOLDEN=1 writes it", () => {
    const file = path.join(dir, "lab", "users.acl");
    assert.throws(
      () => expectGolden(file, "user default off\n"),
      /no golden file .*OKOME_UPDATE_GOLDEN=1/,
    );
    process.env[UPDATE_GOLDEN_ENV] = "1";
    expectGolden(file, "user default off\n");
    assert.equal(fs.readFileSync(file, "utf8"), "user default off\n");
  });

  it("shows changes with context and elides the rest", () => {
    const before = Array.from({ length: 20 }, (_, index) => `line ${index}`).join("\n");
    const after = before.replace("line 10", "line ten");
    const diff = lineDiff(before, after).split("\n");
    assert.deepEqual(diff, [
      "  ...",
      "  line 7",
      "  line 8",
      "  line 9",
      "- line 10",
      "+ line ten",
      "  line 11",
      "  line 12",
      "  line 13",
      "  ...",
    ]);
  });
});
