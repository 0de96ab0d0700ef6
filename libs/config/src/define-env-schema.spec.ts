import { defineEnvSchema } from './define-env-schema';
import { integer, nonEmpty } from './env-parsers';
import { envVar, secretVar } from './env-var';
import { parseEnv } from './parse-env';

describe('defineEnvSchema', () => {
  it('adds the shared variables to an app schema', () => {
    const { vars } = defineEnvSchema({ OWN: envVar(integer(1, 9), '1') });
    expect(vars).toEqual(
      expect.arrayContaining(['NODE_ENV', 'NATS_URL', 'DATABASE_URL', 'ENCRYPTION_KEY', 'OWN']),
    );
  });

  it('refuses an app schema that redefines a shared variable', () => {
    expect(() => defineEnvSchema({ NATS_URL: envVar(nonEmpty, 'x') })).toThrow(
      'app schema redefines shared variables: NATS_URL',
    );
  });

  it('refuses a development default that its own parser rejects', () => {
    expect(() => secretVar(integer(1, 2) as never, 'abc')).toThrow('invalid development default');
  });

  it('gives cross-field checks only the variables that parsed', () => {
    const seen: unknown[] = [];
    const { schema } = defineEnvSchema(
      { A: envVar(integer(1, 9), '1'), B: envVar(integer(1, 9), '2') },
      { crossCheck: (config) => void seen.push(config) },
    );
    expect(() => parseEnv(schema, { A: 'x' })).toThrow('A: must be an integer from 1 to 9');
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toHaveProperty('A');
    expect(seen[0]).toHaveProperty('B', 2);
  });
});
