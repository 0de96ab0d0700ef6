/** One environment variable that failed validation, and why. Never carries the variable's value. */
export interface ConfigIssue {
  readonly variable: string;
  readonly message: string;
}

/**
 * Thrown by `parseEnv`. The message is a single line naming every bad variable, because it is what an
 * operator reads in `kubectl logs` of a crash-looping pod: one line, all problems, no stack trace.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(ConfigError.format(issues));
  }

  static format(issues: readonly ConfigIssue[]): string {
    const parts = issues.map(({ variable, message }) => `${variable}: ${message}`);
    // Newlines in a message would split the line in log collectors; flatten them.
    return `Invalid environment: ${parts.join('; ')}`.replace(/\s*[\r\n]+\s*/g, ' ');
  }
}
