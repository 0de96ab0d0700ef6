import { loadSandboxConfigFromEnv, parseSandboxConfig, SandboxConfigError } from './sandbox-config.schema';

describe('GHL sandbox configuration', () => {
  it('defaults match the product dev config', () => {
    const config = parseSandboxConfig();
    expect(config).toMatchObject({
      port: 8090,
      host: '127.0.0.1',
      clientId: 'sandbox-client-id',
      clientSecret: 'sandbox-client-secret',
      sharedSecret: 'sandbox-shared-secret',
      appId: 'sandbox',
      versionId: 'sandbox',
      seedDemo: false,
      providerDeliveryUrl: 'http://127.0.0.1:3000/webhooks/ghl/provider',
      statusUpdateDelaySeconds: 3,
      rateLimit: { max: 100, intervalMs: 10_000, daily: 200_000, retryAfterHeader: false },
      webhook: { maxRetries: 6 },
      versionMode: 'strict',
    });
  });

  it('derives appId from the client id like the SDK (`<appId>-<suffix>`)', () => {
    expect(parseSandboxConfig({ clientId: '68fd461dc407410f0f0c0cb1-mh6umpou' }).appId).toBe(
      '68fd461dc407410f0f0c0cb1',
    );
  });

  it('reads the environment', () => {
    const config = loadSandboxConfigFromEnv({
      PORT: '9100',
      SEED_DEMO: '1',
      RATE_LIMIT_INTERVAL_MS: '500',
      STATUS_UPDATE_DELAY_SECONDS: '0.5',
      SCOPES: 'contacts.readonly contacts.write',
      WEBHOOK_URL: 'http://127.0.0.1:3000/webhooks/ghl',
      ED25519_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----',
    });
    expect(config).toMatchObject({
      port: 9100,
      seedDemo: true,
      statusUpdateDelaySeconds: 0.5,
      scopes: ['contacts.readonly', 'contacts.write'],
      webhookUrl: 'http://127.0.0.1:3000/webhooks/ghl',
      rateLimit: { intervalMs: 500, max: 100 },
    });
    expect(config.ed25519PrivateKeyPem).toBe('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----');
  });

  it('fails fast naming every bad variable', () => {
    let error: unknown;
    try {
      loadSandboxConfigFromEnv({ PORT: 'eighty', SEED_DEMO: 'maybe', WEBHOOK_URL: 'not a url' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SandboxConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'SEED_DEMO', 'WEBHOOK_URL']) expect(message).toContain(name);
  });

  it('ignores unrelated variables', () => {
    expect(loadSandboxConfigFromEnv({ PATH: '/usr/bin', DATABASE_URL: 'postgres://x' }).port).toBe(8090);
  });
});
