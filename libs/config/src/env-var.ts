import { z } from 'zod';

/** What a parser says about one raw value. Messages never echo the value: it may be a secret. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
export type EnvParser<T> = (raw: string) => Parsed<T>;

/** A zod schema for one environment variable: a string (or unset) in, a typed value out. */
export type EnvVarSchema<T> = z.ZodType<T, string | undefined>;

/**
 * How a variable behaves in production, read by `defineEnvSchema` to refuse development secrets and to
 * list what a deployment must provide.
 */
export type EnvVarPolicy = { kind: 'secret'; devDefault: unknown } | { kind: 'required-in-production' };

const policies = new WeakMap<object, EnvVarPolicy>();

export function envVarPolicy(schema: object): EnvVarPolicy | undefined {
  return policies.get(schema);
}

function build<T>(parse: EnvParser<T>, fallback: string | (() => string) | undefined) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      const input = raw ?? (typeof fallback === 'function' ? fallback() : fallback);
      if (input === undefined) return undefined;
      const parsed = parse(input);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    });
}

/**
 * A variable with a default. The default goes through the same parser as a provided value, so a bad
 * default fails every parse (and the unit tests) instead of shipping.
 */
export function envVar<T>(parse: EnvParser<T>, fallback: string | (() => string)): EnvVarSchema<T> {
  return build(parse, fallback) as EnvVarSchema<T>;
}

/** A variable that may be left unset everywhere. */
export function optionalEnvVar<T>(parse: EnvParser<T>): EnvVarSchema<T | undefined> {
  return build(parse, undefined);
}

/**
 * A secret. Outside production it falls back to a fixed, publicly known development value so local runs
 * and tests need no setup; in production that value is refused, which also makes the variable required.
 */
export function secretVar(parse: EnvParser<string>, devDefault: string): EnvVarSchema<string> {
  const parsedDefault = parse(devDefault);
  if (!parsedDefault.ok) throw new Error(`invalid development default: ${parsedDefault.message}`);
  const schema = envVar(parse, devDefault);
  policies.set(schema, { kind: 'secret', devDefault: parsedDefault.value });
  return schema;
}

/** Optional outside production (no default), required in production. */
export function productionRequiredVar<T>(parse: EnvParser<T>): EnvVarSchema<T | undefined> {
  const schema = optionalEnvVar(parse);
  policies.set(schema, { kind: 'required-in-production' });
  return schema;
}
