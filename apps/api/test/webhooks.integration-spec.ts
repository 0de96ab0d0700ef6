import type { EventEnvelope } from '@app/contracts';
import type { CommandSubscription } from '@app/messaging';
import { eventually } from '@app/testing';
import { randomUUID } from 'node:crypto';
import type { Subscription } from 'nats';
import {
  ApiHarness,
  makeSigningKeys,
  signEd25519,
  signRsa,
  type SigningKeys,
  type Json,
} from './api-harness';

const keys: SigningKeys = makeSigningKeys();
/** Another pair: what an attacker (or a rotated GHL key) signs with. */
const otherKeys: SigningKeys = makeSigningKeys();

function install(locationId: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'INSTALL',
    appId: 'sandbox',
    versionId: 'sandbox',
    installType: 'Location',
    locationId,
    companyId: 'companyW1',
    userId: 'userW1',
    companyName: 'Acme',
    timestamp: new Date().toISOString(),
    webhookId: randomUUID(),
    ...extra,
  };
}

/**
 * GHL → api webhooks with real Ed25519 and RSA keys: signatures over the raw bytes, the replay window,
 * duplicate webhook ids, what INSTALL and UNINSTALL change, and provider messages put on the bus.
 */
describe('GHL webhooks', () => {
  let api: ApiHarness;
  const events: EventEnvelope[] = [];
  let tap: Subscription;
  let subs: CommandSubscription[] = [];

  beforeAll(async () => {
    api = await ApiHarness.start({
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: keys.ed25519.publicPem,
      GHL_WEBHOOK_PUBLIC_KEY_RSA: keys.rsa.publicPem,
    });
    tap = api.connection.nc.subscribe('evt.>', { callback: (_e, m) => events.push(m.json()) });
    await api.connection.nc.flush();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(subs.map((s) => s.unsubscribe()));
    subs = [];
  });

  afterAll(async () => {
    tap?.unsubscribe();
    await api?.stop();
  });

  async function post(
    path: string,
    payload: object | string,
    sign: { ed?: SigningKeys | null; rsa?: SigningKeys | null; tamper?: boolean } = { ed: keys },
  ) {
    const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (sign.ed) headers['x-ghl-signature'] = signEd25519(sign.ed, raw);
    if (sign.rsa) headers['x-wh-signature'] = signRsa(sign.rsa, raw);
    // Tampering: the signature is over the original bytes, the body sent says something else.
    const sent = sign.tamper ? raw.replace('companyW1', 'companyEvil') : raw;
    return api.request<Record<string, Json>>('POST', path, { raw: sent, headers });
  }

  async function installation(locationId: string) {
    const rows = await api.dataSource.query<
      { status: string; install_type: string; company_id: string | null }[]
    >(`SELECT status, install_type, company_id FROM installations WHERE location_id = $1`, [locationId]);
    return rows[0];
  }

  describe('signatures and replay protection', () => {
    it('accepts an INSTALL signed with Ed25519 and records the installation', async () => {
      const res = await post('/webhooks/ghl', install('locWh01'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        received: true,
        type: 'INSTALL',
        action: 'installed',
        locationIds: ['locWh01'],
      });
      expect(await installation('locWh01')).toEqual({
        status: 'active',
        install_type: 'Location',
        company_id: 'companyW1',
      });
      await eventually(() =>
        expect(events).toContainEqual(
          expect.objectContaining({
            type: 'installation.changed',
            locationId: 'locWh01',
            payload: { change: 'installed', companyId: 'companyW1', installType: 'Location' },
          }),
        ),
      );
    });

    it('accepts the legacy RSA signature alone, and falls back to it when the Ed25519 one does not verify', async () => {
      expect((await post('/webhooks/ghl', install('locWh02'), { rsa: keys })).status).toBe(200);
      expect((await post('/webhooks/ghl', install('locWh03'), { ed: otherKeys, rsa: keys })).status).toBe(
        200,
      );
      expect(await installation('locWh03')).toMatchObject({ status: 'active' });
    });

    it('refuses a tampered body, a foreign key, and a missing signature, changing nothing', async () => {
      const tampered = await post('/webhooks/ghl', install('locWh04'), { ed: keys, rsa: keys, tamper: true });
      expect([tampered.status, tampered.body.code]).toEqual([401, 'invalid_signature']);
      const foreign = await post('/webhooks/ghl', install('locWh04'), { ed: otherKeys, rsa: otherKeys });
      expect([foreign.status, foreign.body.code]).toEqual([401, 'invalid_signature']);
      const unsigned = await post('/webhooks/ghl', install('locWh04'), {});
      expect([unsigned.status, unsigned.body.code]).toEqual([401, 'missing_signature']);
      const garbage = await api.request('POST', '/webhooks/ghl', {
        raw: JSON.stringify(install('locWh04')),
        headers: { 'content-type': 'application/json', 'x-ghl-signature': '!!not base64!!' },
      });
      expect(garbage.status).toBe(401);
      expect(await installation('locWh04')).toBeUndefined();
    });

    it('verifies the exact bytes: the same JSON re-serialised with other spacing does not verify', async () => {
      const payload = install('locWh05');
      const compact = JSON.stringify(payload);
      const spaced = JSON.stringify(payload, null, 2);
      const res = await api.request('POST', '/webhooks/ghl', {
        raw: spaced,
        headers: { 'content-type': 'application/json', 'x-ghl-signature': signEd25519(keys, compact) },
      });
      expect(res.status).toBe(401);
      const ok = await api.request('POST', '/webhooks/ghl', {
        raw: spaced,
        headers: { 'content-type': 'application/json', 'x-ghl-signature': signEd25519(keys, spaced) },
      });
      expect(ok.status).toBe(200);
    });

    it('refuses a webhook older (or newer) than the 5-minute window', async () => {
      const old = await post(
        '/webhooks/ghl',
        install('locWh06', { timestamp: new Date(Date.now() - 6 * 60_000).toISOString() }),
      );
      expect([old.status, old.body.code]).toEqual([400, 'webhook_too_old']);
      const future = await post(
        '/webhooks/ghl',
        install('locWh06', { timestamp: new Date(Date.now() + 6 * 60_000).toISOString() }),
      );
      expect(future.status).toBe(400);
      const recent = await post(
        '/webhooks/ghl',
        install('locWh06', { timestamp: new Date(Date.now() - 4 * 60_000).toISOString() }),
      );
      expect(recent.status).toBe(200);
    });

    it('refuses a replayed webhook id, even with a valid signature, and applies it once', async () => {
      const payload = install('locWh07');
      expect((await post('/webhooks/ghl', payload)).status).toBe(200);
      await api.dataSource.query(
        `UPDATE installations SET status = 'needs_reauth' WHERE location_id = 'locWh07'`,
      );
      const replay = await post('/webhooks/ghl', payload);
      expect([replay.status, replay.body.code]).toEqual([409, 'webhook_replayed']);
      expect(await installation('locWh07')).toMatchObject({ status: 'needs_reauth' });
      const receipts = await api.dataSource.query(`SELECT 1 FROM webhook_receipts WHERE webhook_id = $1`, [
        payload.webhookId,
      ]);
      expect(receipts).toHaveLength(1);
    });

    it('prunes receipts older than a week when new ones arrive', async () => {
      await api.dataSource.query(
        `INSERT INTO webhook_receipts (webhook_id, received_at) VALUES ('ancient-1', now() - interval '8 days'), ('recent-1', now() - interval '6 days')`,
      );
      expect((await post('/webhooks/ghl', install('locWh09'))).status).toBe(200);
      const left = await api.dataSource.query<{ webhook_id: string }[]>(
        `SELECT webhook_id FROM webhook_receipts WHERE webhook_id IN ('ancient-1', 'recent-1')`,
      );
      expect(left.map((r) => r.webhook_id)).toEqual(['recent-1']);
    });

    it('refuses bodies that are not JSON, not an INSTALL, or too large', async () => {
      const notJson = await post('/webhooks/ghl', '{"type":');
      expect([notJson.status, notJson.body.code]).toEqual([400, 'invalid_json']);
      const bad = await post('/webhooks/ghl', {
        type: 'INSTALL',
        installType: 'Nope',
        timestamp: new Date().toISOString(),
      });
      expect([bad.status, bad.body.code]).toEqual([400, 'invalid_request']);
      const huge = await post('/webhooks/ghl', { ...install('locWh08'), padding: 'x'.repeat(300 * 1024) });
      expect([huge.status, huge.body.code]).toEqual([413, 'payload_too_large']);
      expect(huge.body.correlationId).toBe(huge.headers.get('x-correlation-id'));
    });

    it('acknowledges other marketplace events without acting on them', async () => {
      const res = await post('/webhooks/ghl', {
        type: 'LocationUpdate',
        id: 'locX',
        timestamp: new Date().toISOString(),
      });
      expect(res.body).toMatchObject({ received: true, type: 'LocationUpdate', action: 'ignored' });
    });
  });

  describe('UNINSTALL', () => {
    it('logs the session out through its owner, deletes the tokens and keeps the session stopped', async () => {
      const loc = 'locUn01';
      await api.install(loc);
      await api.setSession(loc, { state: 'open', phone: '+15550001010' });
      await api.addAuthState(loc);
      const logouts: string[] = [];
      const sub = api.commands.handle('session.logout', loc, async (cmd) => {
        logouts.push(cmd.locationId);
        // The owner clears its auth state itself (fenced); the test plays it.
        await api.dataSource.query(`DELETE FROM auth_state WHERE location_id = $1`, [loc]);
        return { state: 'logged_out', workerId: 'w-owner' };
      });
      subs.push(sub);
      await sub.ready;
      const res = await post('/webhooks/ghl', {
        type: 'UNINSTALL',
        appId: 'sandbox',
        locationId: loc,
        timestamp: new Date().toISOString(),
        webhookId: randomUUID(),
      });
      expect(res.body).toEqual({
        received: true,
        type: 'UNINSTALL',
        action: 'uninstalled',
        locationIds: [loc],
      });
      expect(logouts).toEqual([loc]);
      expect(await installation(loc)).toMatchObject({ status: 'uninstalled' });
      expect(
        await api.dataSource.query(`SELECT 1 FROM oauth_tokens WHERE resource_id = $1`, [loc]),
      ).toHaveLength(0);
      expect(await api.authStateCount(loc)).toBe(0);
      const session = await api.dataSource.query<{ desired_state: string }[]>(
        `SELECT desired_state FROM sessions WHERE location_id = $1`,
        [loc],
      );
      expect(session[0].desired_state).toBe('stopped');
      await eventually(() =>
        expect(events).toContainEqual(
          expect.objectContaining({
            type: 'installation.changed',
            locationId: loc,
            payload: expect.objectContaining({ change: 'uninstalled' }),
          }),
        ),
      );
    });

    it('deletes the auth state itself when no worker owns the session', async () => {
      const loc = 'locUn02';
      await api.install(loc);
      await api.setSession(loc, { state: 'logged_out', desiredState: 'stopped' });
      await api.addAuthState(loc);
      const res = await post('/webhooks/ghl', {
        type: 'UNINSTALL',
        appId: 'sandbox',
        locationId: loc,
        timestamp: new Date().toISOString(),
        webhookId: randomUUID(),
      });
      expect(res.status).toBe(200);
      expect(await api.authStateCount(loc)).toBe(0);
      expect(await installation(loc)).toMatchObject({ status: 'uninstalled' });
    });

    it('an agency UNINSTALL removes every location installed through the agency, and the agency token', async () => {
      for (const loc of ['locAg01', 'locAg02'])
        await api.install(loc, { installType: 'Company', companyId: 'companyAg' });
      await api.install('locAgOwn', { installType: 'Location', companyId: 'companyAg' });
      await api.dataSource.query(
        `INSERT INTO oauth_tokens (resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, user_type)
         VALUES ('company', 'companyAg', '\\x00', '\\x00', now() + interval '1 day', 'Company')`,
      );
      const res = await post('/webhooks/ghl', {
        type: 'UNINSTALL',
        appId: 'sandbox',
        companyId: 'companyAg',
        timestamp: new Date().toISOString(),
        webhookId: randomUUID(),
      });
      expect(res.body.locationIds).toEqual(['locAg01', 'locAg02']);
      expect(await installation('locAg01')).toMatchObject({ status: 'uninstalled' });
      expect(await installation('locAgOwn')).toMatchObject({ status: 'active' });
      expect(
        await api.dataSource.query(`SELECT 1 FROM oauth_tokens WHERE resource_id = 'companyAg'`),
      ).toHaveLength(0);
    });

    it('a re-INSTALL after an uninstall makes the location active again', async () => {
      const res = await post('/webhooks/ghl', install('locUn02'));
      expect(res.status).toBe(200);
      expect(await installation('locUn02')).toMatchObject({ status: 'active' });
    });
  });

  describe('provider outbound messages', () => {
    const loc = 'locProv01';
    beforeAll(async () => {
      await api.install(loc);
    });
    const message = (messageId: string, extra: Record<string, unknown> = {}) => ({
      contactId: 'contact1',
      locationId: loc,
      messageId,
      type: 'SMS',
      phone: '+1 (586) 460-3685',
      message: 'The text message to be sent to the contact',
      attachments: ['https://example.com/a.png'],
      userId: 'user1',
      ...extra,
    });

    it('puts a signed message on the bus durably, keyed by the GHL message id, and answers 200', async () => {
      const res = await post('/webhooks/ghl/provider', message('ghlMsg1'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        received: true,
        type: 'ProviderOutboundMessage',
        action: 'queued',
        locationIds: [loc],
      });
      const stored = await (
        await api.connection.jsm()
      ).streams.getMessage('EVENTS', {
        last_by_subj: `evt.${loc}.ghl.outbound_requested`,
      });
      const envelope = stored.json<EventEnvelope<'ghl.outbound_requested'>>();
      expect(envelope.id).toBe(`ghl-out:${loc}:ghlMsg1`);
      expect(envelope.correlationId).toBe(res.headers.get('x-correlation-id'));
      expect(envelope.payload).toEqual({
        ghlMessageId: 'ghlMsg1',
        contactId: 'contact1',
        conversationId: null,
        phone: '+15864603685',
        message: 'The text message to be sent to the contact',
        attachments: ['https://example.com/a.png'],
        userId: 'user1',
        providerType: 'SMS',
      });
    });

    it('recognises a redelivery of the same GHL message as a duplicate', async () => {
      expect((await post('/webhooks/ghl/provider', message('ghlMsg2'))).body.action).toBe('queued');
      expect((await post('/webhooks/ghl/provider', message('ghlMsg2'))).body.action).toBe('duplicate');
    });

    it('refuses unsigned, tampered and foreign-signed messages (they would send WhatsApp as the tenant)', async () => {
      expect((await post('/webhooks/ghl/provider', message('ghlMsg3'), {})).body.code).toBe(
        'missing_signature',
      );
      expect((await post('/webhooks/ghl/provider', message('ghlMsg3'), { ed: otherKeys })).body.code).toBe(
        'invalid_signature',
      );
      const tampered = await api.request<Record<string, Json>>('POST', '/webhooks/ghl/provider', {
        raw: JSON.stringify(message('ghlMsg3', { message: 'send 1000 USD' })),
        headers: {
          'content-type': 'application/json',
          'x-ghl-signature': signEd25519(keys, JSON.stringify(message('ghlMsg3'))),
        },
      });
      expect([tampered.status, tampered.body.code]).toEqual([401, 'invalid_signature']);
    });

    it('refuses a message for a location without the app, and a malformed one', async () => {
      const stranger = await post('/webhooks/ghl/provider', message('ghlMsg4', { locationId: 'locNoApp01' }));
      expect([stranger.status, stranger.body.code]).toEqual([404, 'location_not_installed']);
      const bad = await post('/webhooks/ghl/provider', { locationId: loc, type: 'SMS' });
      expect([bad.status, bad.body.code]).toEqual([400, 'invalid_request']);
      // Found by the bad-input suite (test/fuzz): a CR/LF in the id broke the bus header (500).
      const controls = await post('/webhooks/ghl/provider', message(' \r\n '));
      expect([controls.status, controls.body.code]).toEqual([400, 'invalid_request']);
      expect(controls.body.details).toEqual([
        { path: 'body.messageId', message: 'must not contain control characters' },
      ]);
    });

    it('answers 429 (the only status GHL retries) when the bus cannot take the message', async () => {
      await api.nats.down();
      try {
        const res = await post('/webhooks/ghl/provider', message('ghlMsg5'));
        expect([res.status, res.body.code, res.headers.get('retry-after')]).toEqual([
          429,
          'retry_later',
          '60',
        ]);
      } finally {
        await api.nats.up();
      }
      await eventually(
        async () =>
          expect((await post('/webhooks/ghl/provider', message('ghlMsg5'))).body.action).toBe('queued'),
        {
          timeoutMs: 20_000,
          intervalMs: 500,
        },
      );
    }, 40_000);
  });

  describe('without configured keys (development only)', () => {
    let bare: ApiHarness;
    beforeAll(async () => {
      bare = await ApiHarness.start({}, { nats: api.nats, db: api.db });
    });
    afterAll(async () => {
      await bare?.stop(true);
    });

    it('refuses install webhooks it cannot verify, but takes unsigned provider messages', async () => {
      const res = await bare.request('POST', '/webhooks/ghl', {
        raw: JSON.stringify(install('locBare01')),
        headers: {
          'content-type': 'application/json',
          'x-ghl-signature': signEd25519(keys, JSON.stringify(install('locBare01'))),
        },
      });
      expect([res.status, res.body.code]).toEqual([401, 'webhook_signature_unverifiable']);
      await bare.install('locBare02');
      const provider = await bare.request('POST', '/webhooks/ghl/provider', {
        body: { contactId: 'c', locationId: 'locBare02', messageId: 'm-bare', type: 'SMS', message: 'hi' },
      });
      expect(provider.status).toBe(200);
    });
  });
});
