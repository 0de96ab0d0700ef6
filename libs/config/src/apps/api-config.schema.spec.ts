import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../config.error';
import { DEV_SECRETS } from '../dev-defaults';
import { parseEnv } from '../parse-env';
import {
  API_ENV_VARS,
  API_REQUIRED_IN_PRODUCTION,
  apiConfigSchema,
  DEFAULT_GHL_OAUTH_SCOPES,
} from './api-config.schema';

const spki = (type: 'ed25519' | 'rsa') =>
  String(
    (type === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: 2048 })
    ).publicKey.export({ type: 'spki', format: 'pem' }),
  );

const productionEnv = {
  NODE_ENV: 'production',
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  GHL_APP_SHARED_SECRET: 'prod-shared-secret',
  GHL_CLIENT_ID: 'prod-client-id',
  GHL_CLIENT_SECRET: 'prod-client-secret',
  GHL_WEBHOOK_PUBLIC_KEY_ED25519: spki('ed25519'),
  GHL_WEBHOOK_PUBLIC_KEY_RSA: spki('rsa'),
};

function messageOf(env: Record<string, string>): string {
  try {
    parseEnv(apiConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('apiConfigSchema', () => {
  it('runs on an empty environment in development with documented defaults', () => {
    const config = parseEnv(apiConfigSchema, {});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      NATS_URL: ['nats://127.0.0.1:4222'],
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/wa_bridge',
      HTTP_PORT: 3000,
      PUBLIC_BASE_URL: 'http://localhost:3000',
      GHL_MARKETPLACE_URL: 'http://127.0.0.1:8090',
      ENCRYPTION_KEY: DEV_SECRETS.ENCRYPTION_KEY,
      GHL_APP_SHARED_SECRET: DEV_SECRETS.GHL_APP_SHARED_SECRET,
      GHL_CLIENT_ID: DEV_SECRETS.GHL_CLIENT_ID,
      GHL_CLIENT_SECRET: DEV_SECRETS.GHL_CLIENT_SECRET,
      EVENTS_MAX_AGE: 7 * 86_400_000,
      DLQ_MAX_AGE: 30 * 86_400_000,
      GHL_OAUTH_SCOPES: DEFAULT_GHL_OAUTH_SCOPES,
      GHL_PROVIDER_SIGNATURE: 'required',
      WEBHOOK_MAX_AGE: 5 * 60_000,
      GHL_WHITELABEL_ORIGINS: [],
      DASHBOARD_SESSION_TTL: 15 * 60_000,
      API_RATE_LIMIT_PER_SECOND: 20,
      API_RATE_LIMIT_BURST: 60,
      HTTP_TRUST_PROXY_HOPS: 0,
    });
    expect(config.GHL_WEBHOOK_PUBLIC_KEY_ED25519).toBeUndefined();
    expect(config.GHL_WEBHOOK_PUBLIC_KEY_RSA).toBeUndefined();
    expect(config.ADMIN_API_KEY).toBeUndefined();
    expect(config.INSTANCE_ID).toMatch(new RegExp(`-${process.pid}$`));
  });

  it('names every bad variable in one line', () => {
    expect(
      messageOf({
        NATS_URL: 'http://nats:4222',
        ENCRYPTION_KEY: 'too-short',
        HTTP_PORT: '70000',
        LOG_LEVEL: 'verbose',
        EVENTS_MAX_AGE: '7',
      }),
    ).toBe(
      'Invalid environment: LOG_LEVEL: must be one of fatal|error|warn|info|debug|trace|silent; ' +
        'NATS_URL: must be a nats:// URL or a comma-separated list of them; ' +
        'ENCRYPTION_KEY: must be 32 bytes base64; ' +
        'EVENTS_MAX_AGE: must be a duration such as 12h, 7d or 30d; ' +
        'HTTP_PORT: must be an integer from 0 to 65535',
    );
  });

  it('accepts a complete production environment', () => {
    const config = parseEnv(apiConfigSchema, productionEnv);
    expect(config.NODE_ENV).toBe('production');
    expect(config.GHL_CLIENT_ID).toBe('prod-client-id');
  });

  it('refuses to start in production on development secrets, naming each missing variable', () => {
    expect(messageOf({ NODE_ENV: 'production' })).toBe(
      'Invalid environment: ' +
        [
          'ENCRYPTION_KEY: is required in production (the development default is refused)',
          'GHL_APP_SHARED_SECRET: is required in production (the development default is refused)',
          'GHL_CLIENT_ID: is required in production (the development default is refused)',
          'GHL_CLIENT_SECRET: is required in production (the development default is refused)',
          'GHL_WEBHOOK_PUBLIC_KEY_ED25519: is required in production',
          'GHL_WEBHOOK_PUBLIC_KEY_RSA: is required in production',
        ].join('; '),
    );
  });

  it('refuses a development secret set explicitly in production', () => {
    expect(messageOf({ ...productionEnv, ENCRYPTION_KEY: DEV_SECRETS.ENCRYPTION_KEY })).toBe(
      'Invalid environment: ENCRYPTION_KEY: is required in production (the development default is refused)',
    );
  });

  it('reports format errors and production rules together', () => {
    const { GHL_CLIENT_SECRET: _omitted, ...rest } = productionEnv;
    expect(messageOf({ ...rest, NATS_URL: 'nope' })).toBe(
      'Invalid environment: NATS_URL: must be a nats:// URL or a comma-separated list of them; ' +
        'GHL_CLIENT_SECRET: is required in production (the development default is refused)',
    );
  });

  it('requires a long ADMIN_API_KEY in production only', () => {
    expect(parseEnv(apiConfigSchema, { ADMIN_API_KEY: 'short' }).ADMIN_API_KEY).toBe('short');
    expect(messageOf({ ...productionEnv, ADMIN_API_KEY: 'short' })).toBe(
      'Invalid environment: ADMIN_API_KEY: must be at least 32 characters in production',
    );
    expect(
      parseEnv(apiConfigSchema, { ...productionEnv, ADMIN_API_KEY: 'k'.repeat(32) }).ADMIN_API_KEY,
    ).toHaveLength(32);
  });

  it('lists exactly the variables it reads and the ones production must set', () => {
    expect([...API_ENV_VARS].sort()).toEqual(Object.keys(apiConfigSchema.shape).sort());
    expect([...API_REQUIRED_IN_PRODUCTION].sort()).toEqual(
      Object.keys(productionEnv)
        .filter((n) => n !== 'NODE_ENV')
        .sort(),
    );
    // Each listed variable really is required: dropping any one of them fails with its name.
    for (const name of API_REQUIRED_IN_PRODUCTION) {
      const env: Record<string, string> = { ...productionEnv };
      delete env[name];
      expect(messageOf(env)).toContain(`${name}: is required in production`);
    }
  });

  it('reads white-label origins, normalised, and refuses paths, other schemes and bare hosts', () => {
    const config = parseEnv(apiConfigSchema, {
      GHL_WHITELABEL_ORIGINS: 'https://App.MyAgency.com, https://*.agency.io,http://localhost:5173',
    });
    expect(config.GHL_WHITELABEL_ORIGINS).toEqual([
      'https://app.myagency.com',
      'https://*.agency.io',
      'http://localhost:5173',
    ]);
    for (const bad of ['https://app.x.com/path', 'http://app.x.com', 'app.x.com', 'https://*']) {
      expect(messageOf({ GHL_WHITELABEL_ORIGINS: bad })).toContain('GHL_WHITELABEL_ORIGINS: must be');
    }
  });

  it('normalises OAuth scopes to the space-separated form and checks the other api knobs', () => {
    expect(parseEnv(apiConfigSchema, { GHL_OAUTH_SCOPES: 'a.readonly,b/c.write  d' }).GHL_OAUTH_SCOPES).toBe(
      'a.readonly b/c.write d',
    );
    expect(
      messageOf({
        GHL_OAUTH_SCOPES: ' , ',
        GHL_PROVIDER_SIGNATURE: 'never',
        WEBHOOK_MAX_AGE: '300',
        API_RATE_LIMIT_PER_SECOND: '0',
      }),
    ).toBe(
      'Invalid environment: GHL_OAUTH_SCOPES: must be GHL scopes separated by spaces or commas; ' +
        'GHL_PROVIDER_SIGNATURE: must be one of required|optional; ' +
        'WEBHOOK_MAX_AGE: must be a duration such as 12h, 7d or 30d; ' +
        'API_RATE_LIMIT_PER_SECOND: must be an integer from 1 to 1000000',
    );
  });
});
