/** One environment variable that failed to parse, and why. */
export interface ConfigIssue {
  readonly variable: string;
  readonly message: string;
}

/**
 * The configuration is not usable. The message names every bad variable, so a main can print it and exit 1.
 *
 * @example
 * ```ts
 * try { loadConfig(process.env); } catch (e) {
 *   if (e instanceof ConfigError) { console.error(e.message); process.exit(1); }
 * }
 * ```
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Stable, kebab-case. */
  readonly code = 'invalid-config';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }

  /** The names of the bad variables, in order, without duplicates. */
  get variables(): string[] {
    return [...new Set(this.issues.map((i) => i.variable))];
  }
}
