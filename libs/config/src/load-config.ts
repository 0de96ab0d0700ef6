import type { z } from 'zod';
import { ConfigError } from './config.error';
import { parseEnv, type RawEnv } from './parse-env';

/**
 * What an app's `main.ts` calls first. A bad environment is an operator mistake, not a bug, so it gets
 * one line on stderr and exit code 1 instead of a stack trace; anything else is rethrown.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: RawEnv = process.env): z.output<S> {
  try {
    return parseEnv(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return process.exit(1);
  }
}
