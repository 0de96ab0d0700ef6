import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config.error';

export type RawEnv = Readonly<Record<string, string | undefined>>;

/**
 * Parses the environment with `schema` and returns the typed config, or throws a `ConfigError` that
 * names every bad variable.
 *
 * Values are trimmed and empty ones count as unset: `FOO=` in a compose file or a Secret written with
 * a trailing newline by `echo` should mean "use the default" / "the value", not a confusing failure.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: RawEnv): z.output<S> {
  const cleaned: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const trimmed = value?.trim();
    if (trimmed) cleaned[name] = trimmed;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;

  // Group by variable so a variable with two problems is still named once, in first-seen order.
  const byVariable = new Map<string, string[]>();
  for (const issue of result.error.issues) {
    const variable = issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)';
    const messages = byVariable.get(variable) ?? [];
    if (!messages.includes(issue.message)) messages.push(issue.message);
    byVariable.set(variable, messages);
  }
  const issues: ConfigIssue[] = [...byVariable].map(([variable, messages]) => ({
    variable,
    message: messages.join(', '),
  }));
  throw new ConfigError(issues);
}
