import { z } from 'zod';
import { ConfigError } from './config.error';
import { integer, natsUrls } from './env-parsers';
import { envVar } from './env-var';
import { parseEnv } from './parse-env';

const schema = z.object({
  PORT: envVar(integer(1, 65535), '8080'),
  NATS_URL: envVar(natsUrls, 'nats://127.0.0.1:4222'),
});

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  it('returns typed values and defaults', () => {
    expect(parseEnv(schema, { PORT: '9000' })).toEqual({ PORT: 9000, NATS_URL: ['nats://127.0.0.1:4222'] });
  });

  it('treats empty and blank values as unset and trims the rest', () => {
    expect(parseEnv(schema, { PORT: '', NATS_URL: '  nats://a:4222  ' })).toEqual({
      PORT: 8080,
      NATS_URL: ['nats://a:4222'],
    });
    expect(parseEnv(schema, { PORT: '   ' }).PORT).toBe(8080);
  });

  it('ignores variables the schema does not read', () => {
    expect(parseEnv(schema, { HOME: '/root' })).not.toHaveProperty('HOME');
  });

  it('names every bad variable on one line without echoing values', () => {
    const error = errorOf(() => parseEnv(schema, { PORT: 'secret-looking-value', NATS_URL: 'http://x' }));
    expect(error.message).toBe(
      'Invalid environment: PORT: must be an integer from 1 to 65535; ' +
        'NATS_URL: must be a nats:// URL or a comma-separated list of them',
    );
    expect(error.message).not.toContain('secret-looking-value');
    expect(error.issues.map((i) => i.variable)).toEqual(['PORT', 'NATS_URL']);
  });

  it('flattens multi-line messages so the error stays one line', () => {
    const multiLine = z.object({ A: z.string({ error: 'is\nrequired' }) });
    expect(errorOf(() => parseEnv(multiLine, {})).message).toBe('Invalid environment: A: is required');
  });
});
