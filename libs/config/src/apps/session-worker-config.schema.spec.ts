import { randomBytes } from 'node:crypto';
import { ConfigError } from '../config.error';
import { parseEnv } from '../parse-env';
import {
  SESSION_WORKER_ENV_VARS,
  SESSION_WORKER_REQUIRED_IN_PRODUCTION,
  sessionWorkerConfigSchema,
} from './session-worker-config.schema';

function messageOf(env: Record<string, string>): string {
  try {
    parseEnv(sessionWorkerConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('sessionWorkerConfigSchema', () => {
  it('has documented defaults', () => {
    expect(parseEnv(sessionWorkerConfigSchema, {})).toMatchObject({
      HTTP_PORT: 3001,
      WA_WS_URL: 'wss://web.whatsapp.com/ws/chat',
      LEASE_TTL_MS: 12_000,
      LEASE_RENEW_MS: 3_000,
      MAX_SESSIONS: 500,
      CONNECT_RAMP_PER_SEC: 5,
      MAX_CONNECTS_IN_FLIGHT: 10,
      SHUTDOWN_HANDOFF_MS: 10_000,
      QR_MAX_REFS: 6,
      MEDIA_MAX_BYTES: 25 * 1024 * 1024,
      MEDIA_DOWNLOAD_TIMEOUT_MS: 30_000,
    });
  });

  it('requires the renew interval to be under half the lease TTL', () => {
    expect(messageOf({ LEASE_TTL_MS: '10000', LEASE_RENEW_MS: '5000' })).toBe(
      'Invalid environment: LEASE_RENEW_MS: must be less than half of LEASE_TTL_MS (5000)',
    );
    expect(
      parseEnv(sessionWorkerConfigSchema, { LEASE_TTL_MS: '10000', LEASE_RENEW_MS: '4999' }),
    ).toMatchObject({
      LEASE_TTL_MS: 10_000,
      LEASE_RENEW_MS: 4_999,
    });
  });

  it('checks the renew interval against the default TTL too', () => {
    expect(messageOf({ LEASE_RENEW_MS: '6000' })).toBe(
      'Invalid environment: LEASE_RENEW_MS: must be less than half of LEASE_TTL_MS (6000)',
    );
  });

  it('skips the cross-field rule when one side is already bad, reporting only the bad variable', () => {
    expect(messageOf({ LEASE_TTL_MS: 'soon', LEASE_RENEW_MS: '5000' })).toBe(
      'Invalid environment: LEASE_TTL_MS: must be an integer from 1000 to 600000',
    );
  });

  it('refuses a non-websocket WA_WS_URL', () => {
    expect(messageOf({ WA_WS_URL: 'https://web.whatsapp.com' })).toBe(
      'Invalid environment: WA_WS_URL: must be a ws:// or wss:// URL',
    );
  });

  it('needs only the encryption key in production', () => {
    expect([...SESSION_WORKER_REQUIRED_IN_PRODUCTION]).toEqual(['ENCRYPTION_KEY']);
    expect(
      parseEnv(sessionWorkerConfigSchema, {
        NODE_ENV: 'production',
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      }).NODE_ENV,
    ).toBe('production');
    expect(messageOf({ NODE_ENV: 'production' })).toBe(
      'Invalid environment: ENCRYPTION_KEY: is required in production (the development default is refused)',
    );
  });

  it('lists every variable it reads', () => {
    expect([...SESSION_WORKER_ENV_VARS].sort()).toEqual(Object.keys(sessionWorkerConfigSchema.shape).sort());
    expect(SESSION_WORKER_ENV_VARS).toEqual(
      expect.arrayContaining(['NATS_URL', 'DATABASE_URL', 'LEASE_TTL_MS']),
    );
  });
});
