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
      GHL_RATE_LIMIT_ENABLED: true,
      GHL_REQUEST_TIMEOUT: 15_000,
      GHL_TOKEN_REFRESH_MARGIN: 300_000,
      GHL_TOKEN_SWEEP_INTERVAL: 60_000,
      GHL_REAUTH_RETRY_DELAY: 600_000,
      GHL_STATUS_RETRY_DELAY: 2_000,
      SYNC_CONCURRENCY: 128,
      SYNC_MAX_DELIVER: 20,
      SYNC_ACK_WAIT: 60_000,
      SYNC_MAX_ACK_PENDING: 20_000,
      SYNC_REPLAY_CONCURRENCY: 16,
      SYNC_REPLAY_MAX_DELIVER: 5,
    });
    const config = parseEnv(syncConfigSchema, {});
    expect(config.GHL_APP_ID).toBeUndefined();
    expect(config.GHL_CONVERSATION_PROVIDER_ID).toBeUndefined();
    expect(config.GHL_PRIVATE_INTEGRATION_TOKENS).toBeUndefined();
  });

  it('reads overrides', () => {
    expect(
      parseEnv(syncConfigSchema, {
        GHL_API_BASE_URL: 'http://127.0.0.1:8090/',
        GHL_RATE_LIMIT_PER_10S: '10',
        GHL_RATE_LIMIT_ENABLED: 'false',
        GHL_CONVERSATION_PROVIDER_ID: 'demoProvider0001',
        GHL_REQUEST_TIMEOUT: '3s',
        SYNC_CONCURRENCY: '16',
      }),
    ).toMatchObject({
      GHL_API_BASE_URL: 'http://127.0.0.1:8090',
      GHL_RATE_LIMIT_PER_10S: 10,
      GHL_RATE_LIMIT_ENABLED: false,
      GHL_CONVERSATION_PROVIDER_ID: 'demoProvider0001',
      GHL_REQUEST_TIMEOUT: 3_000,
      SYNC_CONCURRENCY: 16,
    });
  });

  it('parses Private Integration tokens as location=token pairs and never echoes them', () => {
    expect(
      parseEnv(syncConfigSchema, { GHL_PRIVATE_INTEGRATION_TOKENS: 'locA=pit-aaaaaaaa, locB=pit-bbbbbbbb' })
        .GHL_PRIVATE_INTEGRATION_TOKENS,
    ).toEqual([
      { locationId: 'locA', token: 'pit-aaaaaaaa' },
      { locationId: 'locB', token: 'pit-bbbbbbbb' },
    ]);
    for (const bad of [
      'pit-without-location',
      'a.b=pit-aaaaaaaa',
      'locA=short',
      'locA=pit-aaaaaaaa,locA=pit-bbbbbbbb',
    ]) {
      let error: unknown;
      try {
        parseEnv(syncConfigSchema, { GHL_PRIVATE_INTEGRATION_TOKENS: bad });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('GHL_PRIVATE_INTEGRATION_TOKENS');
      expect((error as Error).message).not.toContain('pit-');
    }
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      parseEnv(syncConfigSchema, {
        GHL_RATE_LIMIT_ENABLED: 'maybe',
        SYNC_CONCURRENCY: '0',
        GHL_APP_ID: 'a b',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of ['GHL_RATE_LIMIT_ENABLED', 'SYNC_CONCURRENCY', 'GHL_APP_ID'])
      expect((error as Error).message).toContain(name);
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
