import { verify } from 'node:crypto';
import { startWebhookRecorder, type WebhookRecorder } from '@app/ghl-sandbox-client';
import { CLIENT, REDIRECT_URI, startTestSandbox, type TestSandbox } from './sandbox-fixture';

describe('GHL sandbox: INSTALL / UNINSTALL webhooks (GHL-CONTRACT §6)', () => {
  let t: TestSandbox;
  let receiver: WebhookRecorder;
  /** Status the receiver answers for the n-th request; 200 past the end. */
  let script: number[] = [];

  beforeAll(async () => {
    receiver = await startWebhookRecorder({ reply: (_req, i) => script[i] ?? 200 });
    t = await startTestSandbox({ webhookUrl: `${receiver.url}/webhooks/ghl` });
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });
  beforeEach(async () => {
    await t.admin.reset();
    receiver.requests.length = 0;
    script = [];
  });

  function expectSigned(
    rawBody: string,
    headers: Record<string, string | string[] | undefined>,
    keys: { ed25519PublicKeyPem: string; rsaPublicKeyPem: string },
  ): void {
    const ed = Buffer.from(String(headers['x-ghl-signature']), 'base64');
    const rsa = Buffer.from(String(headers['x-wh-signature']), 'base64');
    expect(verify(null, Buffer.from(rawBody), keys.ed25519PublicKeyPem, ed)).toBe(true);
    expect(verify('sha256', Buffer.from(rawBody), keys.rsaPublicKeyPem, rsa)).toBe(true);
  }

  it('approving the consent page installs the app and sends a signed INSTALL before any code exchange', async () => {
    const location = await t.admin.createLocation({ name: 'Acme' });
    await t.admin.setNextGrant({ userType: 'Location', locationId: location.id, userId: 'installer01' });
    const auth = await t.api.authorize({ clientId: CLIENT.clientId, redirectUri: REDIRECT_URI });
    expect(auth.status).toBe(302);

    const [install] = await receiver.waitFor(1);
    expect(install.path).toBe('/webhooks/ghl');
    expect(install.json).toMatchObject({
      type: 'INSTALL',
      appId: 'sandbox',
      versionId: 'sandbox',
      installType: 'Location',
      locationId: location.id,
      companyId: location.companyId,
      userId: 'installer01',
    });
    const payload = install.json as { timestamp: string; webhookId: string };
    expect(Date.parse(payload.timestamp)).not.toBeNaN();
    expect(payload.webhookId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(install.json)).not.toMatch(/token/i);
    expectSigned(install.rawBody, install.headers, await t.admin.keys());
  });

  it('an agency install sends one Company INSTALL and one per approved location', async () => {
    const company = await t.admin.createCompany({ locations: [{}, {}, {}] });
    const approved = company.locations.slice(0, 2).map((l) => l.id);
    await t.admin.setNextGrant({ userType: 'Company', companyId: company.id, locationIds: approved });
    await t.api.authorize({ clientId: CLIENT.clientId, redirectUri: REDIRECT_URI });
    const hooks = await receiver.waitFor(3);
    const payloads = hooks.map(
      (h) => h.json as { installType: string; locationId?: string; companyId: string },
    );
    expect(payloads.filter((p) => p.installType === 'Company')).toEqual([
      expect.not.objectContaining({ locationId: expect.anything() }),
    ]);
    expect(
      payloads
        .filter((p) => p.installType === 'Location')
        .map((p) => p.locationId)
        .sort(),
    ).toEqual([...approved].sort());
  });

  it('a 429 answer is retried up to six times with the same signed payload, then given up', async () => {
    script = [429, 429, 429, 429, 429, 429, 429, 429];
    const location = await t.admin.createLocation();
    const delivery = await t.admin.sendInstallWebhook({ locationId: location.id, wait: true });
    expect(delivery.attempts.map((a) => a.status)).toEqual([429, 429, 429, 429, 429, 429, 429]);
    expect(delivery).toMatchObject({ state: 'failed', finalStatus: 429 });
    expect(receiver.requests).toHaveLength(7);
    expect(new Set(receiver.requests.map((r) => r.rawBody)).size).toBe(1);
    expect(new Set(receiver.requests.map((r) => String(r.headers['x-ghl-signature']))).size).toBe(1);
    // Spaced by the (compressed) retry delay of 10 ms, not fired back to back.
    const gaps = receiver.requests.slice(1).map((r, i) => r.receivedAt - receiver.requests[i].receivedAt);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(9);
  });

  it('a 429 then a 200 is delivered on the retry', async () => {
    script = [429, 200];
    const location = await t.admin.createLocation();
    const delivery = await t.admin.sendInstallWebhook({ locationId: location.id, wait: true });
    expect(delivery.attempts.map((a) => a.status)).toEqual([429, 200]);
    expect(delivery.state).toBe('delivered');
  });

  it('any other failure is final: a 500 is not retried (the event is lost, ISSUE #257)', async () => {
    script = [500];
    const location = await t.admin.createLocation();
    const delivery = await t.admin.sendInstallWebhook({ locationId: location.id, wait: true });
    expect(delivery.attempts.map((a) => a.status)).toEqual([500]);
    expect(delivery.state).toBe('failed');
  });

  it('an unreachable receiver is final too', async () => {
    const location = await t.admin.createLocation();
    const delivery = await t.admin.sendInstallWebhook({
      locationId: location.id,
      url: 'http://127.0.0.1:9/nothing',
      wait: true,
    });
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0].error).toBeDefined();
    expect(delivery.state).toBe('failed');
  });

  it('UNINSTALL through the admin API removes the install, revokes its tokens and sends the event', async () => {
    const location = await t.admin.createLocation();
    const { code } = await t.admin.issueCode({ userType: 'Location', locationId: location.id });
    const pair = await t.api.exchangeCode({ ...CLIENT, code });
    await receiver.waitFor(1); // the INSTALL

    const delivery = await t.admin.sendUninstallWebhook({ locationId: location.id, wait: true });
    expect(delivery.state).toBe('delivered');
    expect(delivery.payload).toMatchObject({ type: 'UNINSTALL', appId: 'sandbox', locationId: location.id });
    expect((await t.api.getLocation(String(pair.body.access_token), location.id)).status).toBe(401);
    expect((await t.admin.state()).installations).toEqual([]);
  });

  it('an API uninstall (DELETE /marketplace/app/{appId}/installations) also sends UNINSTALL', async () => {
    const location = await t.admin.createLocation();
    const { code } = await t.admin.issueCode({ userType: 'Location', locationId: location.id });
    const pair = await t.api.exchangeCode({ ...CLIENT, code });
    await receiver.waitFor(1);
    const res = await t.api.request('DELETE', '/marketplace/app/sandbox/installations', {
      token: String(pair.body.access_token),
      version: '2021-07-28',
      json: { locationId: location.id, reason: 'test' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    const [, uninstall] = await receiver.waitFor(2);
    expect(uninstall.json).toMatchObject({ type: 'UNINSTALL', locationId: location.id });
  });

  it('RSA signing can be switched off, leaving only x-ghl-signature', async () => {
    await t.admin.updateSettings({ signRsa: false });
    try {
      const location = await t.admin.createLocation();
      const delivery = await t.admin.sendInstallWebhook({ locationId: location.id, wait: true });
      expect(delivery.headers['x-wh-signature']).toBeUndefined();
      expect(receiver.requests[0].headers['x-wh-signature']).toBeUndefined();
      expect(receiver.requests[0].headers['x-ghl-signature']).toBeDefined();
    } finally {
      await t.admin.updateSettings({ signRsa: true });
    }
  });
});
