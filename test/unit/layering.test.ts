import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

const REPO = path.join(__dirname, "..", "..");

/** Every relative import of every .ts file under `dir`, as repo-relative resolved paths. */
function importsUnder(dir: string): { file: string; target: string }[] {
  const found: { file: string; target: string }[] = [];
  for (const rel of fs.readdirSync(path.join(REPO, dir), { recursive: true }).map(String)) {
    if (!rel.endsWith(".ts")) continue;
    const file = path.join(dir, rel);
    const text = fs.readFileSync(path.join(REPO, file), "utf8");
    for (const m of text.matchAll(/(?:from|import|require\()\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      found.push({ file, target: path.normalize(path.join(path.dirname(file), m[1])) });
    }
  }
  return found;
}

/** DESIGN.md: index.ts -> components/ -> providers/ -> common/; okome/ imports none of them. */
describe("dependency direction", () => {
  const forbidden: [string, string[]][] = [
    ["providers", ["components", "index", "lab"]],
    ["common", ["components", "providers", "okome", "lab"]],
    ["okome", ["components", "providers", "lab"]],
    ["components", ["index", "lab"]],
  ];
  for (const [dir, targets] of forbidden) {
    it(`${dir}/ imports nothing from ${targets.join(", ")}`, () => {
      const wrong = importsUnder(dir).filter(({ target }) =>
        targets.some((t) => target === t || target.startsWith(`${t}/`)),
      );
      assert.deepEqual(wrong, []);
    });
  }
});
