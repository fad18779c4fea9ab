/**
 * What the docs (README.md and docs/*.md) name that the code must have: npm scripts, the okome-*
 * commands the components install on the hosts, repo files, stack keys and metric names. Pure
 * extraction ({@link extractRefs}) from markdown, checked against what the repo holds
 * ({@link loadKnownRefs}, {@link checkRefs}).
 *
 * What counts as a reference, kept narrow so that prose is not read as code:
 * - `npm run X` anywhere: X is a script of package.json.
 * - An okome-* word where a shell command starts (a line of a sh/bash/console/untyped code block,
 *   or an inline code span with arguments; after sudo, |, &&, ;, $( ): a script the components
 *   install in /usr/local/sbin. Any other okome-* word in code (a unit, a host, a journal tag) must
 *   appear in the product's code; `.service`/`.timer` are dropped, `<placeholder>` ends the name.
 * - A repo path in code (assets/, bench/, common/, components/, docs/, lab/, okome/, providers/,
 *   scripts/, test/, not after `/`, `.` or `~`): it exists. `*` and `<placeholder>` match one
 *   name, `**` any depth, `...` anything after; a trailing `/` must be a directory.
 * - `okome-cache:X`, a backticked name in the first column of a table whose first header is
 *   "key", and "stack key|flag `X`": X is a stack key (components/stack.ts, Pulumi.yaml).
 * - okome_*, redis_*, nginx_*, node_* words anywhere (not after `$`, `/` or `.`, not a file name
 *   like okome_vip.prom): a metric the tier exports (test/support/metricNames.ts), or a name the
 *   rendered configs give something else (an nginx zone, a VRRP instance, a cookie). A trailing
 *   `*` is a prefix that some metric must have.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { STACK_KEYS } from "../../components/stack";
import { exporterMetrics, textfileMetrics } from "./metricNames";

const REPO = path.resolve(__dirname, "../..");

export type RefKind = "npm-script" | "command" | "name" | "path" | "stack-key" | "metric";

/** One thing a doc names, on its (1-based) line. */
export interface DocRef {
  readonly kind: RefKind;
  readonly value: string;
  readonly line: number;
}

/** Languages of fenced blocks whose lines are shell commands (untyped blocks too). */
const SHELL_BLOCKS = new Set(["", "sh", "bash", "shell", "console", "zsh"]);
// CommonMark: a backtick fence's info string has no backtick (```` ```sh ```` in prose is code).
const FENCE = /^\s*(`{3,}(?=[^`]*$)|~{3,})\s*([^\s`]*)/;
/** Where a path of the repo starts, at the start of a word. */
const REPO_DIRS = [
  "assets",
  "bench",
  "common",
  "components",
  "docs",
  "lab",
  "okome",
  "providers",
  "scripts",
  "test",
];
const PATH = new RegExp(
  `(?<![\\w./~$@-])((?:${REPO_DIRS.join("|")})/(?:[A-Za-z0-9_.*/-]|<[^>\\n]*>)*)`,
  "g",
);
const OKOME_WORD = /(?<![\w./~$@=-])(okome-[a-z0-9]+(?:-[a-z0-9]+)*)(?![\w:/]|-[a-z0-9])/g;
const STACK_KEY = /\bokome-cache:([A-Za-z][A-Za-z0-9]*)/g;
const STACK_KEY_PROSE = /\bstack (?:key|flag|setting)s? `([A-Za-z][A-Za-z0-9]*)`/g;
const NPM_RUN = /\bnpm run (?:--silent |-s )?([A-Za-z0-9:_-]+)/g;
const METRIC =
  /(?<![\w$./-])((?:okome|redis|nginx|node)_[A-Za-z0-9_]*[A-Za-z0-9*])(?![\w/]|\.[A-Za-z]|\[\.\])/g;
/** Words before a command's name that are not it. */
const PREFIX_WORDS = new Set([
  "sudo",
  "exec",
  "time",
  "nohup",
  "command",
  "!",
  "if",
  "then",
  "else",
  "elif",
  "do",
  "while",
  "until",
  "{",
]);

/** The first word of each simple command on a shell line (after sudo, |, &&, ;, $( ...). */
export function commandNames(line: string): string[] {
  const code = line.replace(/^\s*\$\s+/, "").replace(/(^|\s)#.*$/, "");
  const names: string[] = [];
  for (const segment of code.split(/\|\||&&|[|;&`()]|\$\(/)) {
    const words = segment.trim().split(/\s+/).filter(Boolean);
    let i = 0;
    while (i < words.length) {
      const w = words[i];
      if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w) || PREFIX_WORDS.has(w)) i++;
      // sudo's options: -n, -E, -u USER
      else if (words[i - 1] === "sudo" && w.startsWith("-")) i += w === "-u" ? 2 : 1;
      else break;
    }
    if (i < words.length) names.push(words[i]);
  }
  return names;
}

/** References in code (an inline span or a block's line): okome-* names, paths. */
function codeRefs(code: string, line: number, isShell: boolean, out: DocRef[]): void {
  const commands = isShell ? new Set(commandNames(code)) : new Set<string>();
  for (const name of commands)
    if (/^okome-[a-z0-9-]+$/.test(name)) out.push({ kind: "command", value: name, line });
  for (const m of code.matchAll(OKOME_WORD))
    if (!commands.has(m[1])) out.push({ kind: "name", value: m[1], line });
  for (const m of expandBraces(code).matchAll(PATH)) out.push({ kind: "path", value: m[1], line });
}

/** Shell brace lists, one level: `a.{service,timer}` -> `a.service a.timer`. */
const expandBraces = (code: string) =>
  code.replace(/([^\s`{}]*)\{([^{}\s]*,[^{}\s]*)\}([^\s`{}]*)/g, (_, head, list, tail) =>
    (list as string)
      .split(",")
      .map((item) => `${head}${item}${tail}`)
      .join(" "),
  );

/** References anywhere, prose included: npm scripts, stack keys, metrics. */
function textRefs(text: string, line: number, out: DocRef[]): void {
  for (const m of text.matchAll(NPM_RUN)) out.push({ kind: "npm-script", value: m[1], line });
  for (const m of text.matchAll(STACK_KEY)) out.push({ kind: "stack-key", value: m[1], line });
  for (const m of text.matchAll(STACK_KEY_PROSE))
    out.push({ kind: "stack-key", value: m[1], line });
  for (const m of text.matchAll(METRIC)) out.push({ kind: "metric", value: m[1], line });
}

/** A table row with its first cell emptied. */
const withoutFirstCell = (row: string) =>
  /^\s*\|/.test(row) ? row.replace(/^(\s*\|)[^|]*/, "$1 ") : row;

/** The cells of a table row. */
const cells = (row: string) =>
  row
    .trim()
    .replace(/^\||\|$/g, "")
    .split("|")
    .map((c) => c.trim());

/** Everything a markdown text references, in order, each once per line. */
export function extractRefs(markdown: string): DocRef[] {
  const lines = markdown.split("\n");
  const out: DocRef[] = [];
  let paragraph: { start: number; lines: string[] } | undefined;
  let keyTable = false;
  let seedTable = false;

  const flush = () => {
    if (!paragraph) return;
    const text = paragraph.lines.join("\n");
    const lineAt = (offset: number) =>
      paragraph!.start + (text.slice(0, offset).match(/\n/g)?.length ?? 0);
    for (const m of text.matchAll(/(`+)([\s\S]*?[^`])\1(?!`)/g)) {
      const code = m[2].replace(/\n/g, " ").trim();
      codeRefs(code, lineAt(m.index), /\s/.test(code), out);
    }
    paragraph = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    // A table mapping the seed's files: its first column names the seed's paths, not the repo's.
    const line = seedTable ? withoutFirstCell(lines[i]) : lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      keyTable = seedTable = false;
      const shell = SHELL_BLOCKS.has(fence[2].toLowerCase());
      const close = new RegExp(`^\\s*${fence[1][0]}{${fence[1].length},}\\s*$`);
      let heredoc: string | undefined;
      let continued = false;
      for (i++; i < lines.length && !close.test(lines[i]); i++) {
        const code = lines[i];
        if (heredoc !== undefined) {
          if (code.trim() === heredoc) heredoc = undefined;
          continue;
        }
        codeRefs(code, i + 1, shell && !continued, out);
        textRefs(code, i + 1, out);
        continued = /\\\s*$/.test(code);
        heredoc = /<<-?\s*['"]?(\w+)['"]?/.exec(code)?.[1];
      }
      continue;
    }
    if (line.trim() === "") flush();
    else if (/^#{1,6}\s/.test(line)) {
      // A heading is a paragraph of its own.
      flush();
      paragraph = { start: i + 1, lines: [line] };
      flush();
    } else (paragraph ??= { start: i + 1, lines: [] }).lines.push(line);
    textRefs(line, i + 1, out);
    // A table of stack keys: its first header cell is "key".
    if (/^\s*\|/.test(line)) {
      const next = lines[i + 1] ?? "";
      if (/^\s*\|?\s*:?-{3,}/.test(next)) {
        keyTable = /^(stack )?key$/i.test(cells(line)[0]);
        seedTable = /^seed\b/i.test(cells(line)[0]);
      } else if (keyTable && !/^\s*\|?\s*:?-{3,}/.test(line))
        for (const m of cells(line)[0].matchAll(/`([A-Za-z][A-Za-z0-9]*)`/g))
          out.push({ kind: "stack-key", value: m[1], line: i + 1 });
    } else keyTable = seedTable = false;
  }
  flush();
  const seen = new Set<string>();
  return out
    .filter((r) => {
      const key = `${r.kind} ${r.value} ${r.line}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .sort((a, b) => a.line - b.line);
}

/** What the repo holds, to check references against. */
export interface KnownRefs {
  readonly npmScripts: ReadonlySet<string>;
  /** okome-* commands installed in /usr/local/sbin, each with the file that installs it. */
  readonly installed: ReadonlyMap<string, string>;
  /** Every okome-* word of the product's code (components, providers, assets, lab, scripts...). */
  readonly codeNames: ReadonlySet<string>;
  /** Repo files and directories, relative, with `/` after a directory. */
  readonly files: readonly string[];
  readonly stackKeys: ReadonlySet<string>;
  readonly metrics: ReadonlySet<string>;
  /** Names shaped like metrics that are something else, each with the file that defines it. */
  readonly notMetrics: ReadonlyMap<string, string>;
}

/**
 * Names shaped like metrics that name something else and that no rendered config holds, each with
 * the file that shows what it is (a test checks the file has it).
 */
export const NOT_METRICS: ReadonlyMap<string, string> = new Map([
  // The program behind prometheus-redis-exporter, as its own docs and the alerts call it.
  ["redis_exporter", "assets/prometheus/okome-alerts.yml"],
  // okome-chaos's nft table (upstream-down), defined in the script.
  ["okome_chaos", "assets/scripts/okome-chaos.sh"],
]);

/** Product code: where okome-* words and installed scripts are defined (not tests, not docs). */
const PRODUCT = [
  "components",
  "providers",
  "common",
  "assets",
  "lab",
  "scripts",
  "okome",
  "bench",
  "index.ts",
  "Pulumi.yaml",
  "package.json",
];
const SKIP_DIRS = new Set([".git", "node_modules", "bin"]);

/** Every file and directory under `dir`, relative to `repo`; directories end with `/`. */
function walk(repo: string, dir = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(repo, dir), { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(`${rel}/`, ...walk(repo, rel));
    else out.push(rel);
  }
  return out;
}

/** Reads what the repo at `repo` holds. */
export function loadKnownRefs(repo = REPO): KnownRefs {
  const files = walk(repo);
  const productFiles = files.filter(
    (f) => !f.endsWith("/") && PRODUCT.some((p) => f === p || f.startsWith(`${p}/`)),
  );
  const codeNames = new Set<string>();
  const installed = new Map<string, string>();
  for (const file of productFiles) {
    const text = fs.readFileSync(path.join(repo, file), "utf8");
    for (const m of text.matchAll(/okome-[a-z0-9]+(?:-[a-z0-9]+)*/g)) codeNames.add(m[0]);
    if (file.endsWith(".ts"))
      for (const m of text.matchAll(/["'`]\/usr\/local\/sbin\/(okome-[a-z0-9-]+)["'`]/g))
        installed.set(m[1], file);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  const pulumi = load(fs.readFileSync(path.join(repo, "Pulumi.yaml"), "utf8")) as {
    config?: Record<string, unknown>;
  };
  const metrics = new Set([...exporterMetrics().keys(), ...textfileMetrics().keys()]);
  // What the rendered configs (the templates and their golden renders) name with these prefixes:
  // nginx zones, upstreams and log formats, VRRP instances and scripts, a cookie.
  const notMetrics = new Map(NOT_METRICS);
  for (const file of files.filter(
    (f) =>
      !f.endsWith("/") && (f.startsWith("assets/templates/") || f.startsWith("test/unit/golden/")),
  ))
    for (const m of fs.readFileSync(path.join(repo, file), "utf8").matchAll(METRIC))
      if (!metrics.has(m[1])) notMetrics.set(m[1], file);
  return {
    npmScripts: new Set(Object.keys(pkg.scripts)),
    installed,
    codeNames,
    files,
    stackKeys: new Set([...STACK_KEYS, ...Object.keys(pulumi.config ?? {})]),
    metrics,
    notMetrics,
  };
}

/** A path with `*`, `**`, `<placeholder>` or `...` as a regular expression over repo paths. */
function pathPattern(value: string): RegExp {
  const source = value
    .split(/(\.\.\.|\*\*|\*|<[^>]*>)/)
    .map((part) => {
      if (part === "...") return ".*";
      if (part === "**") return ".*";
      if (part === "*" || part.startsWith("<")) return "[^/]+";
      return part.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return new RegExp(`^${source}/?$`);
}

/** Why `ref` names nothing the repo holds, or undefined when it is fine. */
export function refProblem(ref: DocRef, known: KnownRefs): string | undefined {
  const { value } = ref;
  switch (ref.kind) {
    case "npm-script":
      return known.npmScripts.has(value) ? undefined : "not a script of package.json";
    case "command":
      return known.installed.has(value)
        ? undefined
        : `not a command okome-cache installs (/usr/local/sbin: ${[...known.installed.keys()].sort().join(", ")})`;
    case "name":
      return known.codeNames.has(value) || known.installed.has(value)
        ? undefined
        : "no such okome-* name in the code (a script, unit, host or tag)";
    case "stack-key":
      return known.stackKeys.has(value)
        ? undefined
        : "not a stack key (components/stack.ts STACK_KEYS, Pulumi.yaml config)";
    case "metric":
      if (value.endsWith("*")) {
        const prefix = value.replace(/\*+$/, "");
        return [...known.metrics].some((m) => m.startsWith(prefix))
          ? undefined
          : `no metric starts with ${prefix}`;
      }
      return known.metrics.has(value) || known.notMetrics.has(value)
        ? undefined
        : "not a metric the tier exports (assets/scripts' # TYPE lines, assets/prometheus/exporter-metrics.txt)";
    case "path": {
      // Sentence punctuation after a path is not part of it; "..." is a wildcard.
      const trimmed = value.replace(/(?<!\.\.)[.,:;]+$/, "");
      if (/[*<]|\.\.\./.test(trimmed)) {
        const pattern = pathPattern(trimmed);
        return known.files.some((f) => pattern.test(f)) ? undefined : "matches no file of the repo";
      }
      if (trimmed.endsWith("/"))
        return known.files.includes(trimmed) ? undefined : "no such directory in the repo";
      return known.files.includes(trimmed) || known.files.includes(`${trimmed}/`)
        ? undefined
        : "no such file in the repo";
    }
  }
}

/** "file:line: kind `value`: why" for each reference of `markdown` that names nothing. */
export function checkRefs(markdown: string, file: string, known: KnownRefs): string[] {
  return extractRefs(markdown).flatMap((ref) => {
    const problem = refProblem(ref, known);
    return problem ? [`${file}:${ref.line}: ${ref.kind} \`${ref.value}\`: ${problem}`] : [];
  });
}

/** The docs the check reads: README.md and every docs/*.md, relative to `repo`. */
export function docFiles(repo = REPO): string[] {
  const docs = fs
    .readdirSync(path.join(repo, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs];
}
