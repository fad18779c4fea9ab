/** One problem with a setting, named by its full path (e.g. `okome-cache:redisMaxmemory`). */
export interface Issue {
  readonly path: string;
  readonly reason: string;
}

/** Thrown once with every issue found, so a user fixes a config in one round trip. */
export class ConfigIssuesError extends Error {
  constructor(
    readonly subject: string,
    readonly issues: readonly Issue[],
  ) {
    super(
      `${subject}: ${issues.length} invalid setting${issues.length === 1 ? "" : "s"}\n` +
        issues.map((i) => `  - ${i.path}: ${i.reason}`).join("\n"),
    );
    this.name = "ConfigIssuesError";
  }
}

/** Throws a ConfigIssuesError when `issues` is not empty. */
export function assertNoIssues(subject: string, issues: readonly Issue[]): void {
  if (issues.length > 0) throw new ConfigIssuesError(subject, issues);
}
