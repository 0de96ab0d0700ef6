import { runMigrations } from '@app/persistence';
import { createDataSource } from '@app/persistence';
import { GhlSandboxAdminClient } from '@app/ghl-sandbox-client';
import { eventually, freePort, startNatsServer, type NatsServerHandle } from '@app/testing';
import { AppProcess } from '@app/testing/app-process';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { DataSource } from 'typeorm';
import { startGhlSandbox, type GhlSandbox } from '../../../apps/ghl-sandbox/src';

const DEMO = 'demoLocation0001';

/**
 * The install flow with the real apps: the built api and sync as processes, the GHL sandbox. The api's
 * install link goes through the sandbox's consent page to the api's callback; sync exchanges the code
 * over NATS and stores the tokens; the sandbox's signed INSTALL and UNINSTALL reach the api.
 */
describe('GHL install flow across the apps', () => {
  let nats: NatsServerHandle;
  let db: TestDatabase;
  let dataSource: DataSource;
  let sandbox: GhlSandbox;
  let admin: GhlSandboxAdminClient;
  let api: AppProcess;
  let sync: AppProcess;
  let apiUrl: string;

  beforeAll(async () => {
    nats = await startNatsServer();
    db = await createTestDatabase('test_install_e2e');
    await runMigrations(db.url, () => undefined);
    dataSource = await createDataSource(db.url).initialize();
    sandbox = await startGhlSandbox({ port: 0, logLevel: 'silent', seedDemo: true, autoApprove: true });
    admin = new GhlSandboxAdminClient(sandbox.url);
    const keys = await admin.keys();
    const [apiPort, syncPort] = [await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const shared = { NODE_ENV: 'test', LOG_LEVEL: 'info', NATS_URL: nats.url, DATABASE_URL: db.url };
    sync = AppProcess.start({
      app: 'sync',
      env: { ...shared, HTTP_PORT: String(syncPort), INSTANCE_ID: 'sync-e2e', GHL_API_BASE_URL: sandbox.url },
    });
    api = AppProcess.start({
      app: 'api',
      env: {
        ...shared,
        HTTP_PORT: String(apiPort),
        INSTANCE_ID: 'api-e2e',
        PUBLIC_BASE_URL: apiUrl,
        GHL_MARKETPLACE_URL: sandbox.url,
        GHL_WEBHOOK_PUBLIC_KEY_ED25519: keys.ed25519PublicKeyPem,
        GHL_WEBHOOK_PUBLIC_KEY_RSA: keys.rsaPublicKeyPem,
      },
    });
    await Promise.all([
      api.waitForLog((l) => l.msg === 'api ready'),
      sync.waitForLog((l) => l.msg === 'sync ready'),
    ]);
    await admin.updateSettings({ webhookUrl: `${apiUrl}/webhooks/ghl` });
  }, 90_000);

  afterAll(async () => {
    await api?.stop();
    await sync?.stop();
    await sandbox?.close();
    await dataSource?.destroy();
    await nats?.stop();
    await db?.drop();
  }, 60_000);

  it('installs through the consent page and sync, then uninstalls through the signed webhook', async () => {
    const res = await fetch(`${apiUrl}/oauth/authorize`, { redirect: 'follow' });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('WhatsApp for GoHighLevel is installed');
    const token = decodeURIComponent(/#session=([^"]+)"/.exec(html)?.[1] ?? '');

    // sync stored the location's tokens (encrypted) and the installation; the api reports it healthy.
    const stored = await dataSource.query<{ user_type: string; access: Buffer }[]>(
      `SELECT user_type, access_token_enc AS access FROM oauth_tokens WHERE resource_type = 'location' AND resource_id = $1`,
      [DEMO],
    );
    expect(stored).toHaveLength(1);
    const issued = await admin.tokens({ locationId: DEMO });
    expect(issued.length).toBeGreaterThan(0);
    const status = await fetch(`${apiUrl}/api/locations/${DEMO}/whatsapp/status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await status.json()) as { ghl: { health: string; installType: string } };
    expect(body.ghl).toMatchObject({ health: 'ok', installType: 'Location' });
    await eventually(async () => {
      const deliveries = await admin.deliveries('INSTALL');
      expect(deliveries.map((d) => d.finalStatus)).toContain(200);
    });

    const uninstall = await admin.sendUninstallWebhook({ locationId: DEMO, wait: true });
    expect([uninstall.state, uninstall.finalStatus]).toEqual(['delivered', 200]);
    const after = await dataSource.query<{ status: string }[]>(
      `SELECT status FROM installations WHERE location_id = $1`,
      [DEMO],
    );
    expect(after[0].status).toBe('uninstalled');
    expect(await dataSource.query(`SELECT 1 FROM oauth_tokens WHERE resource_id = $1`, [DEMO])).toHaveLength(
      0,
    );
  }, 60_000);
});
