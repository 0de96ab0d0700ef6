import { ConfigError } from '../config.error';
import { parseEnv } from '../parse-env';
import { SYNC_ENV_VARS, SYNC_REQUIRED_IN_PRODUCTION, syncConfigSchema } from './sync-config.schema';

describe('syncConfigSchema', () => {
  it('has documented defaults', () => {
    expect(parseEnv(syncConfigSchema, {})).toMatchObject({
      HTTP_PORT: 3002,
      GHL_API_BASE_URL: 'https://services.leadconnectorhq.com',
      GHL_RATE_LIMIT_PER_10S: 100,
      GHL_DAILY_LIMIT: 200_000,
    });
  });

  it('reads overrides', () => {
    expect(
      parseEnv(syncConfigSchema, {
        GHL_API_BASE_URL: 'http://127.0.0.1:8090/',
        GHL_RATE_LIMIT_PER_10S: '10',
      }),
    ).toMatchObject({ GHL_API_BASE_URL: 'http://127.0.0.1:8090', GHL_RATE_LIMIT_PER_10S: 10 });
  });

  it('requires the encryption key and GHL credentials in production', () => {
    expect([...SYNC_REQUIRED_IN_PRODUCTION].sort()).toEqual([
      'ENCRYPTION_KEY',
      'GHL_CLIENT_ID',
      'GHL_CLIENT_SECRET',
    ]);
    expect(() => parseEnv(syncConfigSchema, { NODE_ENV: 'production' })).toThrow(ConfigError);
  });

  it('lists every variable it reads', () => {
    expect([...SYNC_ENV_VARS].sort()).toEqual(Object.keys(syncConfigSchema.shape).sort());
  });
});
