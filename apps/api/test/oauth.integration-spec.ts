import { DEV_SECRETS } from '@app/config';
import { GLOBAL_SCOPE } from '@app/contracts';
import { GhlSandboxAdminClient } from '@app/ghl-sandbox-client';
import { CommandError, type CommandSubscription } from '@app/messaging';
import { eventually, freePort } from '@app/testing';
import { randomBytes } from 'node:crypto';
import { startGhlSandbox, type GhlSandbox } from '../../ghl-sandbox/src';
import { ApiHarness, type Json } from './api-harness';

const DEMO = 'demoLocation0001';

/**
 * The GHL install flow against the GHL sandbox (in this process): our authorize link, the sandbox's
 * consent page (auto-approving), our callback, and a stand-in for sync's `oauth.exchange_code` that
 * exchanges the code at the sandbox the way sync does.
 */
describe('GHL OAuth install flow', () => {
  let sandbox: GhlSandbox;
  let admin: GhlSandboxAdminClient;
  let api: ApiHarness;
  let exchange: CommandSubscription | undefined;
  const exchanged: string[] = [];

  beforeAll(async () => {
    sandbox = await startGhlSandbox({ port: 0, logLevel: 'silent', seedDemo: true, autoApprove: true });
    admin = new GhlSandboxAdminClient(sandbox.url);
    const keys = await admin.keys();
    const port = await freePort();
    api = await ApiHarness.start({
      HTTP_PORT: String(port),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      GHL_MARKETPLACE_URL: sandbox.url,
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: keys.ed25519PublicKeyPem,
      GHL_WEBHOOK_PUBLIC_KEY_RSA: keys.rsaPublicKeyPem,
    });
    await admin.updateSettings({ webhookUrl: `${api.url}/webhooks/ghl` });
  }, 60_000);

  beforeEach(async () => {
    exchange = api.commands.handle(
      'oauth.exchange_code',
      GLOBAL_SCOPE,
      (cmd) => exchangeAtSandbox(cmd.payload.code),
      {
        queue: 'sync-oauth',
      },
    );
    await exchange.ready;
  });

  afterEach(async () => {
    await exchange?.unsubscribe();
    exchange = undefined;
  });

  afterAll(async () => {
    await api?.stop();
    await sandbox?.close();
  });

  /** What sync does with a code (apps/sync's exchange handler), reduced to what the api relies on. */
  async function exchangeAtSandbox(code: string) {
    exchanged.push(code);
    const res = await fetch(`${sandbox.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: DEV_SECRETS.GHL_CLIENT_ID,
        client_secret: DEV_SECRETS.GHL_CLIENT_SECRET,
        grant_type: 'authorization_code',
        code,
        redirect_uri: `${api.url}/oauth/callback`,
      }),
    });
    const body = (await res.json()) as Record<string, Json>;
    if (res.status === 400)
      throw new CommandError('invalid_request', `GHL refused the authorization code: ${body.message}`);
    if (!res.ok) throw new CommandError('upstream_error', `GHL answered ${res.status}`);
    const store = async (locationId: string, installType: string, companyId: string | null) => {
      await api.dataSource.query(
        `INSERT INTO installations (location_id, company_id, install_type, status) VALUES ($1, $2, $3, 'active')
         ON CONFLICT (location_id) DO UPDATE SET status = 'active'`,
        [locationId, companyId, installType],
      );
      await api.dataSource.query(
        `INSERT INTO oauth_tokens (resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, user_type)
         VALUES ('location', $1, $2, $2, now() + interval '1 day', 'Location') ON CONFLICT DO NOTHING`,
        [locationId, randomBytes(32)],
      );
    };
    if (body.userType === 'Location') {
      await store(body.locationId, 'Location', body.companyId ?? null);
      return {
        userType: 'Location' as const,
        companyId: body.companyId ?? null,
        locationIds: [body.locationId as string],
      };
    }
    const listed = await fetch(
      `${sandbox.url}/oauth/installedLocations?companyId=${body.companyId}&appId=${sandbox.config.appId}&isInstalled=true`,
      { headers: { authorization: `Bearer ${body.access_token}`, version: '2021-07-28' } },
    );
    const locations = ((await listed.json()) as { locations: { _id: string }[] }).locations.map((l) => l._id);
    for (const id of locations) await store(id, 'Company', body.companyId);
    return { userType: 'Company' as const, companyId: body.companyId as string, locationIds: locations };
  }

  /** Follows redirects by hand so the test sees each hop; returns the final answer and the hops. */
  async function follow(url: string) {
    const hops: string[] = [];
    let res = await fetch(url, { redirect: 'manual' });
    while (res.status === 302) {
      const next = new URL(res.headers.get('location') ?? '', url).toString();
      hops.push(next);
      res = await fetch(next, { redirect: 'manual' });
    }
    return { res, hops, html: await res.text() };
  }

  it("sends the install link to GHL's choose-location page with our redirect URI, client id and scopes", async () => {
    const res = await fetch(`${api.url}/oauth/authorize`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const target = new URL(res.headers.get('location') ?? '');
    expect(`${target.origin}${target.pathname}`).toBe(`${sandbox.url}/v2/oauth/chooselocation`);
    expect(Object.fromEntries(target.searchParams)).toEqual({
      response_type: 'code',
      redirect_uri: `${api.url}/oauth/callback`,
      client_id: DEV_SECRETS.GHL_CLIENT_ID,
      scope: api.config.GHL_OAUTH_SCOPES,
    });
  });

  it('installs a location end to end, shows a success page with a working dashboard link, and verifies the INSTALL webhook', async () => {
    const { res, hops, html } = await follow(`${api.url}/oauth/authorize`);
    expect(hops[1]).toMatch(new RegExp(`^${api.url}/oauth/callback\\?code=`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain('WhatsApp for GoHighLevel is installed');
    expect(html).toContain(`sub-account ${DEMO}`);
    const link = /href="(\/app\?locationId=demoLocation0001#session=([^"]+))"/.exec(html);
    expect(link).not.toBeNull();
    const token = decodeURIComponent(link![2]);
    const status = await api.request<Record<string, Json>>('GET', `/api/locations/${DEMO}/whatsapp/status`, {
      token,
    });
    expect(status.status).toBe(200);
    expect(status.body.ghl.health).toBe('ok');
    expect((await api.request('GET', '/api/locations/other0001/whatsapp/status', { token })).status).toBe(
      403,
    );

    // The sandbox signed its INSTALL webhook with its own keys; the api verified and applied it.
    await eventually(async () => {
      const deliveries = await admin.deliveries('INSTALL');
      expect(deliveries.map((d) => [d.state, d.finalStatus])).toContainEqual(['delivered', 200]);
    });
  });

  it('explains an already used code on a clear error page, with a way to start again', async () => {
    const { hops } = await follow(`${api.url}/oauth/authorize`);
    const callback = hops.find((h) => h.includes('/oauth/callback'))!;
    const again = await fetch(callback);
    const html = await again.text();
    expect(again.status).toBe(400);
    expect(html).toContain('This install link has expired');
    expect(html).toContain('href="/oauth/authorize"');
    expect(html).toMatch(/Support reference: <code>[0-9a-f-]{36}<\/code>/);
  });

  it('explains a missing code, a cancelled consent and an offline installer', async () => {
    const missing = await fetch(`${api.url}/oauth/callback`);
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('Nothing to install');
    const cancelled = await fetch(
      `${api.url}/oauth/callback?error=access_denied&error_description=The+user+declined`,
    );
    expect(cancelled.status).toBe(400);
    expect(await cancelled.text()).toContain('The user declined');
    await exchange?.unsubscribe();
    exchange = undefined;
    const offline = await fetch(`${api.url}/oauth/callback?code=whatever`);
    expect(offline.status).toBe(503);
    expect(await offline.text()).toContain('The installer is not available');
  });

  it('an agency install lists a dashboard link for every location it covers', async () => {
    const company = await admin.createCompany({
      id: 'agencyOauth01',
      locations: [{ id: 'agLocOauth01' }, { id: 'agLocOauth02' }],
    });
    await admin.setNextGrant({ userType: 'Company', companyId: company.id });
    const { res, html } = await follow(`${api.url}/oauth/authorize`);
    expect(res.status).toBe(200);
    expect(html).toContain('installed for your agency (agencyOauth01) and 2 sub-account(s)');
    expect(html).toContain('/app?locationId=agLocOauth01#session=');
    expect(html).toContain('/app?locationId=agLocOauth02#session=');
  });
});
