import { DEV_ADMIN_TOKEN, loadConfig } from './config';

describe('loadConfig', () => {
  it('defaults to loopback, ports 8781/8782 and the development token', () => {
    expect(loadConfig({})).toEqual({
      host: '127.0.0.1',
      wsPort: 8781,
      adminPort: 8782,
      adminToken: DEV_ADMIN_TOKEN,
      qrRefs: 6,
      autoDeliveryReceipts: true,
      historySync: true,
      clientIdleTimeoutMs: 0,
      stateFile: undefined,
      logLevel: 'info',
    });
  });

  it('refuses to start in production unless explicitly allowed', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'production', WA_SANDBOX_ADMIN_TOKEN: 'a-long-enough-token' }),
    ).toThrow(/refusing to start with NODE_ENV=production/);
  });

  it('wants a real admin token when allowed in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', WA_SANDBOX_ALLOW_PRODUCTION: 'true' })).toThrow(
      /WA_SANDBOX_ADMIN_TOKEN is required/,
    );
    const config = loadConfig({
      NODE_ENV: 'production',
      WA_SANDBOX_ALLOW_PRODUCTION: 'true',
      WA_SANDBOX_ADMIN_TOKEN: 'a-long-enough-token',
    });
    expect(config.adminToken).toBe('a-long-enough-token');
  });

  it('names every bad variable at once', () => {
    expect(() =>
      loadConfig({ WA_SANDBOX_WS_PORT: 'nope', WA_SANDBOX_QR_REFS: '0', WA_SANDBOX_ADMIN_TOKEN: 'short' }),
    ).toThrow(
      /WA_SANDBOX_WS_PORT.*WA_SANDBOX_ADMIN_TOKEN.*WA_SANDBOX_QR_REFS|WA_SANDBOX_WS_PORT.*WA_SANDBOX_QR_REFS/s,
    );
  });

  it('reads booleans and switches', () => {
    const config = loadConfig({
      WA_SANDBOX_AUTO_DELIVERY_RECEIPTS: 'false',
      WA_SANDBOX_HISTORY_SYNC: '0',
      WA_SANDBOX_QR_REFS: '2',
    });
    expect(config).toMatchObject({ autoDeliveryReceipts: false, historySync: false, qrRefs: 2 });
  });
});
