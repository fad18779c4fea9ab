import * as fs from "node:fs";
import * as path from "node:path";

/** Set to 1 to rewrite the golden files on purpose (then review them with `git diff`). */
export const UPDATE_GOLDEN_ENV = "OKOME_UPDATE_GOLDEN";

/** Lines of context around each change in a failure's diff. */
const CONTEXT_LINES = 3;

/**
 * Checks `actual` against the golden file `file`, failing with a line diff (`-` golden, `+`
 * actual). With OKOME_UPDATE_GOLDEN=1 it writes `actual` to the file instead, and passes.
 */
export function expectGolden(file: string, actual: string, what = file): void {
  if (process.env[UPDATE_GOLDEN_ENV] === "1") {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file))
    throw new Error(
      `${what}: no golden file ${file}; render it with ${UPDATE_GOLDEN_ENV}=1 and review it`,
    );
  const golden = fs.readFileSync(file, "utf8");
  if (actual === golden) return;
  throw new Error(
    `${what} differs from ${file} (- golden, + actual; ${UPDATE_GOLDEN_ENV}=1 rewrites it if the change is meant):\n` +
      lineDiff(golden, actual),
  );
}

type DiffLine = { readonly mark: " " | "-" | "+"; readonly text: string };

/** A unified-style diff of two texts by lines (longest common subsequence), changes with context. */
export function lineDiff(before: string, after: string): string {
  const left = before.split("\n");
  const right = after.split("\n");
  // common[i][j]: length of the longest common subsequence of left[i..] and right[j..].
  const common = Array.from({ length: left.length + 1 }, () =>
    new Array<number>(right.length + 1).fill(0),
  );
  for (let i = left.length - 1; i >= 0; i--)
    for (let j = right.length - 1; j >= 0; j--)
      common[i][j] =
        left[i] === right[j]
          ? common[i + 1][j + 1] + 1
          : Math.max(common[i + 1][j], common[i][j + 1]);
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i < left.length && j < right.length && left[i] === right[j]) {
      lines.push({ mark: " ", text: left[i++] });
      j++;
    } else if (i < left.length && (j === right.length || common[i + 1][j] >= common[i][j + 1])) {
      lines.push({ mark: "-", text: left[i++] });
    } else {
      lines.push({ mark: "+", text: right[j++] });
    }
  }
  const near = (index: number) =>
    lines
      .slice(Math.max(0, index - CONTEXT_LINES), index + CONTEXT_LINES + 1)
      .some((line) => line.mark !== " ");
  const shown: string[] = [];
  lines.forEach((line, index) => {
    if (near(index)) shown.push(`${line.mark} ${line.text}`);
    else if (shown.at(-1) !== "  ...") shown.push("  ...");
  });
  return shown.join("\n");
}
