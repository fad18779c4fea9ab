import { z } from "zod";
import { Issue } from "../../common/issues";

/** The Pulumi config namespace of this project (Pulumi.yaml `name`). */
export const CONFIG_NAMESPACE = "okome-cache";

/**
 * Stack values as `pulumi.Config.get` returns them, by key without the namespace: strings, lists
 * as JSON text, undefined when the stack does not set the key.
 */
export type RawStackValues = Readonly<Record<string, string | undefined>>;

/** What a component reads from the stack: its arguments and every problem, by full stack key. */
export interface StackKeyReading<Args> {
  readonly args: Args;
  readonly issues: readonly Issue[];
}

/**
 * The full stack key of a key and a path inside its value: `stackKey("redisBind", [1])` is
 * `okome-cache:redisBind[1]`, `stackKey("vip")` is `okome-cache:vip`.
 */
export function stackKey(name: string, path: readonly PropertyKey[] = []): string {
  const inside = path.map((step) => (typeof step === "number" ? `[${step}]` : `.${String(step)}`));
  return `${CONFIG_NAMESPACE}:${name}${inside.join("")}`;
}

/**
 * A zod issue of key `name`, named by its full stack key. A missing value "is required", followed
 * by the schema's description when it has one (`.describe("the model node's RAM, e.g. 8gb")`).
 */
export function stackKeyIssue(name: string, issue: z.core.$ZodIssue, description?: string): Issue {
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  return {
    path: stackKey(name, issue.path),
    reason: missing ? (description ? `is required: ${description}` : "is required") : issue.message,
  };
}

/**
 * Parses each key of `schema` on its own, so that one bad key neither hides the others' problems
 * nor their values: the component's own validation still sees every key that parsed. Issues come
 * in the schema's key order.
 */
export function readStackKeys<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  raw: Readonly<Record<string, unknown>>,
): { values: Partial<z.output<z.ZodObject<Shape>>>; issues: Issue[] } {
  const values: Record<string, unknown> = {};
  const issues: Issue[] = [];
  for (const [name, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    const parsed = field.safeParse(raw[name]);
    if (!parsed.success)
      issues.push(...parsed.error.issues.map((i) => stackKeyIssue(name, i, field.description)));
    else if (parsed.data !== undefined) values[name] = parsed.data;
  }
  return { values: values as Partial<z.output<z.ZodObject<Shape>>>, issues };
}

/** Value parsers for stack keys, which Pulumi hands over as text. */
export const stackValue = {
  /** A whole number written in decimal digits. */
  integer: () =>
    z.string().transform((text, context) => {
      if (/^\d+$/.test(text)) return Number(text);
      context.addIssue({ code: "custom", message: `must be an integer, got "${text}"` });
      return z.NEVER;
    }),
  /** `true` or `false`. */
  boolean: () =>
    z.string().transform((text, context) => {
      if (text === "true" || text === "false") return text === "true";
      context.addIssue({ code: "custom", message: `must be true or false, got "${text}"` });
      return z.NEVER;
    }),
  /** A YAML list in the stack file, which Pulumi hands over as JSON text. */
  /** Any JSON value; `.pipe()` a schema to shape it (its issues keep their paths). */
  json: (example: string) =>
    z.string().transform((text, context): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        context.addIssue({ code: "custom", message: `must be JSON, e.g. ${example}` });
        return z.NEVER;
      }
    }),
  stringList: (example: string) =>
    z.string().transform((text, context) => {
      const list = parseStringList(text);
      if (list !== undefined) return list;
      context.addIssue({ code: "custom", message: `must be a list of strings, e.g. ${example}` });
      return z.NEVER;
    }),
};

function parseStringList(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === "string")
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}
