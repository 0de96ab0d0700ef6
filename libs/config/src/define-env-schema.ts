import { z } from 'zod';
import { envVarPolicy } from './env-var';
import { sharedEnvShape, type SharedEnvShape } from './shared-env.schema';

type FullShape<Shape extends z.ZodRawShape> = SharedEnvShape & Shape;
export type EnvConfig<Shape extends z.ZodRawShape> = z.output<z.ZodObject<FullShape<Shape>>>;

/** Reports a problem with one variable; used by cross-field checks. */
export type ReportIssue<Name extends string> = (variable: Name, message: string) => void;

export interface EnvSchemaOptions<Config> {
  /**
   * Rules that span several variables. `config` holds only the variables that parsed, so a rule about
   * two variables stays quiet when either is already reported as bad.
   */
  crossCheck?: (config: Partial<Config>, report: ReportIssue<keyof Config & string>) => void;
}

export interface EnvSchemaDefinition<Shape extends z.ZodRawShape> {
  schema: z.ZodObject<FullShape<Shape>>;
  /** Every variable the app reads, shared ones included. */
  vars: readonly (keyof FullShape<Shape> & string)[];
  /** Variables a production deployment must set: secrets and anything without a usable default. */
  requiredInProduction: readonly (keyof FullShape<Shape> & string)[];
}

/**
 * Builds an app's environment schema from its own variables plus the shared ones, and adds the
 * production rules: development secrets are refused and production-required variables must be set.
 * Every rule runs even when other variables are bad, so one error line names all problems at once.
 */
export function defineEnvSchema<Shape extends z.ZodRawShape, Config = EnvConfig<Shape>>(
  appShape: Shape,
  options: EnvSchemaOptions<Config> = {},
): EnvSchemaDefinition<Shape> {
  const redefined = Object.keys(appShape).filter((name) => name in sharedEnvShape);
  // An app may not redefine a shared variable: one app's NATS_URL must not mean something else.
  if (redefined.length > 0) throw new Error(`app schema redefines shared variables: ${redefined.join(', ')}`);
  const shape = { ...sharedEnvShape, ...appShape } as FullShape<Shape>;
  const vars = Object.keys(shape) as (keyof FullShape<Shape> & string)[];
  const requiredInProduction = vars.filter((name) => envVarPolicy(shape[name]) !== undefined);

  const schema = z.object(shape).superRefine(
    (value, ctx) => {
      const failed = new Set(ctx.issues.map((issue) => String(issue.path?.[0])));
      // Values of variables that failed are zod internals, not config; hide them from the rules.
      const parsed: Record<string, unknown> = Object.fromEntries(
        Object.entries(value).filter(([name]) => !failed.has(name)),
      );
      const report: ReportIssue<string> = (variable, message) =>
        ctx.addIssue({ code: 'custom', path: [variable], message });

      if (parsed.NODE_ENV === 'production') {
        for (const name of requiredInProduction) {
          if (failed.has(name)) continue;
          const policy = envVarPolicy(shape[name]);
          const current = parsed[name];
          if (policy?.kind === 'secret' && current === policy.devDefault) {
            report(name, 'is required in production (the development default is refused)');
          } else if (policy?.kind === 'required-in-production' && current === undefined) {
            report(name, 'is required in production');
          }
        }
      }
      options.crossCheck?.(parsed as Partial<Config>, report);
    },
    // Run even when some variables failed, so their problems and these are reported together.
    { when: () => true },
  );

  return { schema, vars, requiredInProduction };
}
