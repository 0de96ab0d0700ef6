import { DEV_SECRETS } from '@app/config';
import type { EventEnvelope } from '@app/contracts';
import { encryptUserContext } from '@app/ghl-sandbox-client/sso-user-context';
import { eventually, freePort } from '@app/testing';
import { AppProcess } from '@app/testing/app-process';
import { WorkerCluster } from '@app/testing/worker-cluster';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';

/** The little of the DOM the page functions below touch (the repo compiles without lib.dom). */
declare const document: {
  getElementById(id: string): { textContent: string | null } | null;
  body: { getAttribute(name: string): string | null };
};
declare const window: { noReloadMarker?: number; frameLoaded?: boolean };

const LOC = 'locDashE2e0001';
const PHONE = '15550004242';
const ARTIFACTS = resolve(__dirname, '../../../artifacts');
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A stand-in for GHL's app: a page on another origin that embeds our dashboard in an iframe and
 * answers its REQUEST_USER_DATA with the encrypted user context, as GHL does for custom pages.
 */
function startGhlHostPage(apiUrl: string, port: number): Promise<Server> {
  const payload = encryptUserContext(
    {
      userId: 'user-e2e',
      companyId: 'company-e2e',
      role: 'admin',
      type: 'location',
      userName: 'Ada',
      activeLocation: LOC,
    },
    DEV_SECRETS.GHL_APP_SHARED_SECRET,
  );
  const html = `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{margin:0}iframe{border:0;width:100%;height:100vh;display:block}</style></head><body>
<iframe id="wa" src="${apiUrl}/app?locationId=${LOC}" onload="window.frameLoaded = true"></iframe>
<script>
window.addEventListener('message', function (e) {
  if (e.data && e.data.message === 'REQUEST_USER_DATA') {
    e.source.postMessage({ message: 'REQUEST_USER_DATA_RESPONSE', payload: ${JSON.stringify(payload)} }, e.origin);
  }
});
</script></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  return new Promise((done) => server.listen(port, '127.0.0.1', () => done(server)));
}

/**
 * The dashboard in real Chromium, inside a GHL-like iframe on a phone-sized screen: it signs in with
 * GHL's user context, shows the QR a real session worker (real Baileys, the WhatsApp sandbox) publishes,
 * and turns "connected" the moment the sandbox phone scans it, without a reload.
 */
describe('dashboard in a browser', () => {
  let cluster: WorkerCluster;
  let api: AppProcess;
  let host: Server;
  let context: BrowserContext;
  let profile: string;
  let apiUrl: string;
  let hostUrl: string;

  beforeAll(async () => {
    cluster = await WorkerCluster.start();
    await cluster.startWorker('worker-dash');
    await cluster.install(LOC);
    await cluster.dataSource.query(
      `INSERT INTO oauth_tokens (resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, user_type)
       VALUES ('location', $1, $2, $2, now() + interval '1 day', 'Location')`,
      [LOC, randomBytes(32)],
    );
    const [apiPort, hostPort] = [await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    // `localhost` and `127.0.0.1` are different origins: the dashboard really is a cross-origin iframe.
    hostUrl = `http://localhost:${hostPort}`;
    api = AppProcess.start({
      app: 'api',
      env: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        NATS_URL: cluster.nats.url,
        DATABASE_URL: cluster.db.url,
        HTTP_PORT: String(apiPort),
        INSTANCE_ID: 'api-e2e',
        PUBLIC_BASE_URL: apiUrl,
        GHL_WHITELABEL_ORIGINS: hostUrl,
      },
    });
    await api.waitForLog((l) => l.msg === 'api ready');
    host = await startGhlHostPage(apiUrl, hostPort);
    profile = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    host?.closeAllConnections();
    await new Promise((done) => (host ? host.close(done) : done(undefined)));
    await api?.stop();
    await cluster?.stop();
  }, 60_000);

  async function dashboardFrame(page: Page): Promise<Frame> {
    return eventually(
      () => {
        const frame = page.frames().find((f) => f.url().startsWith(`${apiUrl}/app`));
        if (!frame) throw new Error('the dashboard iframe is not there yet');
        return frame;
      },
      { timeoutMs: 10_000 },
    );
  }

  it('signs in through GHL, shows the live QR, and turns connected after a scan without a reload', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(hostUrl);
    const frame = await dashboardFrame(page);

    // Signed in through the postMessage handshake; nothing linked yet, so the page offers to connect.
    await frame.waitForFunction(
      () => document.getElementById('state-badge')?.textContent === 'Not connected',
      null,
      {
        timeout: 15_000,
      },
    );
    expect(await frame.textContent('#next-step')).toContain('Press "Connect"');
    await frame.evaluate(() => {
      window.noReloadMarker = 42;
    });

    await frame.click('#btn-connect');
    await frame.waitForSelector('#qr-img[data-event-id]', { state: 'visible', timeout: 20_000 });
    expect(await frame.textContent('#state-badge')).toBe('Scan the QR code');
    expect(await frame.textContent('#qr-countdown')).toMatch(/This code changes in \d+ s/);

    // The page shows the newest QR the worker published; scan exactly that one (read from the projection).
    const qr = await eventually(
      async () => {
        const row = await cluster.sessionRow(LOC);
        const shownId = await frame.getAttribute('#qr-img', 'data-event-id');
        const shown = cluster
          .eventsOf(LOC, 'session.qr')
          .find((e: EventEnvelope<'session.qr'>) => e.id === shownId);
        if (!row?.qr || !shown || shown.payload.qr !== row.qr)
          throw new Error('the page is not on the newest QR yet');
        return row.qr;
      },
      { timeoutMs: 10_000 },
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-qr.png'), fullPage: true });
    await cluster.sandbox.admin.scanQr({ qr, phone: PHONE, name: 'Dash' });

    await frame.waitForFunction(() => document.body.getAttribute('data-state') === 'open', null, {
      timeout: 30_000,
    });
    expect(await frame.textContent('#state-badge')).toBe('Connected');
    expect(await frame.textContent('#headline')).toBe(`Connected as +${PHONE} (Dash).`);
    expect(await frame.isHidden('#qr-card')).toBe(true);
    await frame.waitForFunction(
      (phone) => (document.getElementById('timeline')?.textContent ?? '').includes(`Connected as +${phone}`),
      PHONE,
      { timeout: 10_000 },
    );
    expect(await frame.evaluate(() => window.noReloadMarker)).toBe(42);
    expect(await frame.textContent('#reference')).toMatch(/^[0-9a-f-]{36}$/);

    const shot = join(ARTIFACTS, 'dashboard-connected.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('logs the number out from the page (two taps) and says what to do next', async () => {
    const page = await context.newPage();
    await page.goto(hostUrl);
    const frame = await dashboardFrame(page);
    await frame.waitForFunction(() => document.body.getAttribute('data-state') === 'open', null, {
      timeout: 15_000,
    });
    await frame.click('#btn-logout');
    expect(await frame.textContent('#btn-logout')).toBe('Tap again to log out');
    await frame.click('#btn-logout');
    await frame.waitForFunction(() => document.body.getAttribute('data-state') === 'logged_out', null, {
      timeout: 20_000,
    });
    expect(await frame.textContent('#next-step')).toContain('Press "Connect"');
    await cluster.waitForState(LOC, 'logged_out');
    const auth = await cluster.dataSource.query(`SELECT 1 FROM auth_state WHERE location_id = $1`, [LOC]);
    expect(auth).toHaveLength(0);
    await page.close();
  }, 60_000);

  it('links by pairing code typed into the page, then shows the number connected', async () => {
    const page = await context.newPage();
    await page.goto(hostUrl);
    const frame = await dashboardFrame(page);
    await frame.waitForFunction(() => document.body.getAttribute('data-state') === 'logged_out', null, {
      timeout: 15_000,
    });
    await frame.click('#btn-connect');
    await frame.waitForSelector('#qr-img[data-event-id]', { state: 'visible', timeout: 20_000 });
    await frame.click('#pairing summary');
    await frame.fill('#pairing-phone', '+1 555 000 4343');
    await frame.click('#pairing-form button[type="submit"]');
    await frame.waitForSelector('#pairing-code:not([hidden])', { timeout: 20_000 });
    const shown = (await frame.textContent('#pairing-code')) ?? '';
    expect(shown).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    // The person types the code on the phone: the sandbox phone confirms it.
    await cluster.sandbox.admin.confirmPairingCode({
      phone: '15550004343',
      code: shown.replace('-', ''),
      name: 'Pat',
    });
    await frame.waitForFunction(() => document.body.getAttribute('data-state') === 'open', null, {
      timeout: 30_000,
    });
    expect(await frame.textContent('#headline')).toBe('Connected as +15550004343 (Pat).');
    await page.close();
  }, 60_000);

  it('refuses to be framed by a site that is not GHL', async () => {
    // The same host page, on an origin that is not in the allowed list.
    const strangerPort = await freePort();
    const stranger = await startGhlHostPage(apiUrl, strangerPort);
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/frame-ancestors/i.test(m.text())) violations.push(m.text());
    });
    try {
      await page.goto(`http://localhost:${strangerPort}`);
      await page.waitForFunction(() => window.frameLoaded === true, null, {
        timeout: 10_000,
      });
      for (const frame of page.frames()) {
        expect(await frame.$('#state-badge').catch(() => null)).toBeNull();
      }
      expect(violations.join('\n')).toContain('frame-ancestors');
    } finally {
      await page.close();
      stranger.closeAllConnections();
      await new Promise((done) => stranger.close(done));
    }
  }, 30_000);
});
