import { CommandError, type CommandSubscription } from '@app/messaging';
import { eventually } from '@app/testing';
import { createEvent, type EventEnvelope } from '@app/contracts';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ADMIN_KEY, ApiHarness, type Json } from './api-harness';
import { SseReader } from './sse-reader';

const QR =
  '2@Ab12Cd34Ef56,Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34Yz56=,Zz99Yy88Xx77Ww66Vv55Uu44Tt33Ss22=,Rr11Qq00Pp99';

/** The location endpoints: what they answer from stored state and what they send over NATS. */
describe('api location endpoints', () => {
  let api: ApiHarness;
  let subs: CommandSubscription[] = [];
  const admin = { token: ADMIN_KEY };

  beforeAll(async () => {
    api = await ApiHarness.start({ API_RATE_LIMIT_PER_SECOND: '10000', API_RATE_LIMIT_BURST: '10000' });
  }, 60_000);

  afterEach(async () => {
    await Promise.all(subs.map((s) => s.unsubscribe()));
    subs = [];
  });

  afterAll(async () => {
    await api?.stop();
  });

  async function serve(sub: CommandSubscription): Promise<void> {
    subs.push(sub);
    await sub.ready;
  }

  describe('status', () => {
    it('reports state, phone, owner (judged by the database clock), QR expiry and GHL health with plain words', async () => {
      const loc = 'locStatus01';
      await api.install(loc);
      await api.setSession(loc, { state: 'qr', qr: QR, qrExpiresInMs: 45_000, owner: 'worker-7' });
      await api.setLease(loc, 'worker-7', 10_000, 12);
      const res = await api.request<Record<string, Json>>(
        'GET',
        `/api/locations/${loc}/whatsapp/status`,
        admin,
      );
      expect(res.status).toBe(200);
      expect(res.body.whatsapp).toMatchObject({
        state: 'qr',
        desiredState: 'running',
        owner: { workerId: 'worker-7', live: true, epoch: 12 },
        qr: { available: true },
      });
      expect(res.body.whatsapp.qr.expiresInSeconds).toBeGreaterThan(40);
      expect(res.body.whatsapp.qr.expiresInSeconds).toBeLessThanOrEqual(45);
      expect(res.body.ghl).toMatchObject({ health: 'ok', status: 'active', installType: 'Location' });
      expect(res.body.explanation).toMatchObject({
        action: 'scan',
        headline: 'Scan the QR code with your phone.',
      });
      expect(res.text).not.toContain(QR);
    });

    it('says the owner is gone once its lease expired, and what the last disconnect meant', async () => {
      const loc = 'locStatus02';
      await api.install(loc);
      await api.setSession(loc, {
        state: 'reconnecting',
        owner: 'worker-dead',
        lastDisconnectCode: 428,
        lastDisconnectReason: 'connection closed',
      });
      await api.setLease(loc, 'worker-dead', -1_000);
      const res = await api.request<Record<string, Json>>(
        'GET',
        `/api/locations/${loc}/whatsapp/status`,
        admin,
      );
      expect(res.body.whatsapp.owner).toMatchObject({ workerId: 'worker-dead', live: false });
      expect(res.body.whatsapp.lastDisconnect).toEqual({
        code: 428,
        reason: 'connection closed',
        meaning: 'the connection to WhatsApp was closed',
      });
      expect(res.body.explanation.action).toBe('wait');
    });

    it('asks for re-authorisation when GHL refused the tokens, and for a reinstall after an uninstall', async () => {
      await api.install('locReauth01', { status: 'needs_reauth' });
      await api.dataSource.query(
        `UPDATE installations SET status_reason = 'invalid_grant on refresh' WHERE location_id = 'locReauth01'`,
      );
      const reauth = await api.request<Record<string, Json>>(
        'GET',
        '/api/locations/locReauth01/whatsapp/status',
        admin,
      );
      expect(reauth.body.ghl).toMatchObject({ health: 'needs_reauth', reason: 'invalid_grant on refresh' });
      expect(reauth.body.explanation.action).toBe('reauthorize');
      await api.install('locGone01', { status: 'uninstalled', token: false });
      const gone = await api.request<Record<string, Json>>(
        'GET',
        '/api/locations/locGone01/whatsapp/status',
        admin,
      );
      expect(gone.body.ghl.health).toBe('uninstalled');
      expect(gone.body.whatsapp.state).toBe('not_started');
      await api.install('locNoToken01', { token: false });
      const waiting = await api.request<Record<string, Json>>(
        'GET',
        '/api/locations/locNoToken01/whatsapp/status',
        admin,
      );
      expect(waiting.body.ghl.health).toBe('awaiting_token');
    });

    it('answers 404 for a location that never installed the app', async () => {
      const res = await api.request('GET', '/api/locations/locNobody01/whatsapp/status', admin);
      expect([res.status, res.body.code]).toEqual([404, 'location_not_installed']);
      expect(res.body.correlationId).toBe(res.headers.get('x-correlation-id'));
    });

    it('matches the OpenAPI document it is described by', async () => {
      const docs = await api.request<Record<string, Json>>('GET', '/docs');
      const schema =
        docs.body.paths['/api/locations/{locationId}/whatsapp/status'].get.responses['200'].content[
          'application/json'
        ].schema;
      const ajv = new Ajv2020({ strict: false });
      addFormats(ajv);
      const validate = ajv.compile(schema);
      await api.install('locStatus03');
      await api.setSession('locStatus03', { state: 'open', phone: '+15550000003', lastDisconnectCode: 515 });
      const res = await api.request('GET', '/api/locations/locStatus03/whatsapp/status', admin);
      expect(res.status).toBe(200);
      expect(validate(res.body)).toBe(true);
      expect(validate({ ...res.body, whatsapp: { state: 'bogus' } })).toBe(false);
    });
  });

  describe('qr', () => {
    beforeAll(async () => {
      await api.install('locQr01');
      await api.setSession('locQr01', { state: 'qr', qr: QR, qrExpiresInMs: 30_000, owner: 'w' });
    });

    it('renders the live QR as PNG by default and as SVG on request, never cached', async () => {
      const png = await fetch(`${api.url}/api/locations/locQr01/whatsapp/qr`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect(png.status).toBe(200);
      expect(png.headers.get('content-type')).toBe('image/png');
      expect(png.headers.get('cache-control')).toBe('no-store');
      expect(Date.parse(png.headers.get('x-qr-expires-at') ?? '')).toBeGreaterThan(Date.now());
      const bytes = Buffer.from(await png.arrayBuffer());
      expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

      const svg = await api.request('GET', '/api/locations/locQr01/whatsapp/qr?format=svg', admin);
      expect(svg.headers.get('content-type')).toContain('image/svg+xml');
      expect(svg.text).toMatch(/^<svg [^>]*viewBox="0 0 \d+ \d+"/);
      const byAccept = await api.request('GET', '/api/locations/locQr01/whatsapp/qr', {
        ...admin,
        headers: { accept: 'image/svg+xml,image/png;q=0.8' },
      });
      expect(byAccept.text).toBe(svg.text);
    });

    it('answers 404 no_live_qr with the reason when there is nothing to scan', async () => {
      const cases: [string, Parameters<ApiHarness['setSession']>[1] | null, RegExp][] = [
        ['locQrOpen', { state: 'open', phone: '+15550000001' }, /already linked/],
        ['locQrOld', { state: 'qr', qr: QR, qrExpiresInMs: -5_000 }, /expired/],
        ['locQrNever', null, /never started/],
        ['locQrTimeout', { state: 'qr_timeout' }, /qr_timeout/],
      ];
      for (const [loc, session, reason] of cases) {
        await api.install(loc);
        if (session) await api.setSession(loc, session);
        const res = await api.request('GET', `/api/locations/${loc}/whatsapp/qr`, admin);
        expect([res.status, res.body.code]).toEqual([404, 'no_live_qr']);
        expect(res.body.message).toMatch(reason);
      }
    });

    it('refuses an unknown format', async () => {
      const res = await api.request('GET', '/api/locations/locQr01/whatsapp/qr?format=gif', admin);
      expect([res.status, res.body.code]).toEqual([400, 'invalid_request']);
    });
  });

  describe('commands', () => {
    const loc = 'locCmd01';
    beforeAll(async () => {
      await api.install(loc);
      await api.setSession(loc, { state: 'stopped', desiredState: 'stopped' });
    });

    it('connect sends session.start over NATS with the request correlation id and answers 202', async () => {
      const seen: { correlationId: string }[] = [];
      await serve(
        api.commands.handle('session.start', '*', async (cmd) => {
          seen.push(cmd);
          return { state: 'starting', workerId: 'w-1' };
        }),
      );
      const res = await api.request('POST', `/api/locations/${loc}/whatsapp/connect`, {
        ...admin,
        headers: { 'x-correlation-id': 'corr-connect-1' },
      });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        locationId: loc,
        state: 'starting',
        desiredState: 'running',
        workerId: 'w-1',
      });
      expect(seen).toHaveLength(1);
      expect(seen[0].correlationId).toBe('corr-connect-1');
    });

    it('connect without any worker answers 503 with Retry-After; an uninstalled location 404', async () => {
      const none = await api.request('POST', `/api/locations/${loc}/whatsapp/connect`, admin);
      expect([none.status, none.body.code, none.headers.get('retry-after')]).toEqual([
        503,
        'service_unavailable',
        '10',
      ]);
      await serve(
        api.commands.handle('session.start', '*', async () => {
          throw new CommandError('unknown_location', 'not installed');
        }),
      );
      const unknown = await api.request('POST', `/api/locations/${loc}/whatsapp/connect`, admin);
      expect([unknown.status, unknown.body.code]).toEqual([404, 'location_not_installed']);
    });

    it('restart, pairing code and send need a running session: 409 session_not_running otherwise', async () => {
      for (const [path, body] of [
        ['restart', undefined],
        ['pairing-code', { phone: '+15550003333' }],
        ['messages', { to: '+15550003333', text: 'hi' }],
      ] as const) {
        const res = await api.request('POST', `/api/locations/${loc}/whatsapp/${path}`, { ...admin, body });
        expect([path, res.status, res.body.code]).toEqual([path, 409, 'session_not_running']);
      }
    });

    it('restart, pairing code and send reach the owner; its refusals keep their meaning', async () => {
      const sends: unknown[] = [];
      await serve(
        api.commands.handle('session.restart', loc, async () => ({ state: 'connecting', workerId: 'w-2' })),
      );
      await serve(
        api.commands.handle('session.request_pairing_code', loc, async ({ payload }) => {
          if (payload.phone === '+15559999999')
            throw new CommandError('session_not_running', 'it is open, not waiting for a QR');
          return { code: 'K7Q2M9XA', expiresAt: new Date(Date.now() + 60_000).toISOString() };
        }),
      );
      await serve(
        api.commands.handle('session.send', loc, async ({ payload }) => {
          sends.push(payload);
          if (payload.to === '+15550000000')
            throw new CommandError('not_connected', 'the WhatsApp session is qr, not open');
          return { waMessageId: '3EB0F00D', sentAt: '2026-01-01T00:00:00.000Z' };
        }),
      );
      const restart = await api.request('POST', `/api/locations/${loc}/whatsapp/restart`, admin);
      expect([restart.status, restart.body.state, restart.body.workerId]).toEqual([202, 'connecting', 'w-2']);

      const code = await api.request('POST', `/api/locations/${loc}/whatsapp/pairing-code`, {
        ...admin,
        body: { phone: '+15550003333' },
      });
      expect(code.status).toBe(200);
      expect(code.body).toMatchObject({ code: 'K7Q2M9XA', phone: '+15550003333' });
      const wrongState = await api.request('POST', `/api/locations/${loc}/whatsapp/pairing-code`, {
        ...admin,
        body: { phone: '+15559999999' },
      });
      expect([wrongState.status, wrongState.body.code]).toEqual([409, 'session_not_running']);

      const sent = await api.request('POST', `/api/locations/${loc}/whatsapp/messages`, {
        ...admin,
        body: { to: '+15550004444', text: 'hello from the api', clientMessageId: 'op-1' },
      });
      expect(sent.status).toBe(200);
      expect(sent.body).toEqual({
        waMessageId: '3EB0F00D',
        sentAt: '2026-01-01T00:00:00.000Z',
        clientMessageId: 'op-1',
      });
      expect(sends[0]).toEqual({
        to: '+15550004444',
        clientMessageId: 'op-1',
        content: { kind: 'text', text: 'hello from the api' },
      });
      const generated = await api.request('POST', `/api/locations/${loc}/whatsapp/messages`, {
        ...admin,
        body: { to: '+15550004444', text: 'again' },
      });
      expect(generated.body.clientMessageId).toMatch(/^api-[0-9a-f-]{36}$/);
      const offline = await api.request('POST', `/api/locations/${loc}/whatsapp/messages`, {
        ...admin,
        body: { to: '+15550000000', text: 'x' },
      });
      expect([offline.status, offline.body.code, offline.body.retryable]).toEqual([
        409,
        'not_connected',
        true,
      ]);
    });

    it('refuses bad command input with every bad field named', async () => {
      const pairing = await api.request('POST', `/api/locations/${loc}/whatsapp/pairing-code`, {
        ...admin,
        body: { phone: '0555 123' },
      });
      expect([pairing.status, pairing.body.code]).toEqual([400, 'invalid_request']);
      expect(pairing.body.details).toEqual([
        { path: 'body.phone', message: 'phone must be E.164, e.g. +15550000001' },
      ]);
      const message = await api.request('POST', `/api/locations/${loc}/whatsapp/messages`, {
        ...admin,
        body: { to: 'nope', text: '', extra: 1 },
      });
      expect(message.status).toBe(400);
      expect((message.body.details as { path: string }[]).map((d) => d.path).sort()).toEqual([
        'body',
        'body.text',
        'body.to',
      ]);
      const notJson = await api.request('POST', `/api/locations/${loc}/whatsapp/messages`, {
        ...admin,
        raw: '{"to":',
        headers: { 'content-type': 'application/json' },
      });
      expect([notJson.status, notJson.body.code]).toEqual([400, 'bad_request']);
    });

    it('stop reaches the owner; without one it records desired_state=stopped so the stop takes effect', async () => {
      const owned = 'locStop01';
      await api.install(owned);
      await api.setSession(owned, { state: 'open', phone: '+15550005555' });
      await serve(
        api.commands.handle('session.stop', owned, async () => ({ state: 'stopped', workerId: 'w-3' })),
      );
      const byOwner = await api.request('POST', `/api/locations/${owned}/whatsapp/stop`, admin);
      expect([byOwner.status, byOwner.body.workerId]).toEqual([200, 'w-3']);
      await Promise.all(subs.map((s) => s.unsubscribe()));
      subs = [];

      const unowned = await api.request('POST', `/api/locations/${owned}/whatsapp/stop`, admin);
      expect(unowned.status).toBe(200);
      expect(unowned.body).toMatchObject({ desiredState: 'stopped', workerId: null });
      const rows = await api.dataSource.query<{ desired_state: string }[]>(
        `SELECT desired_state FROM sessions WHERE location_id = $1`,
        [owned],
      );
      expect(rows[0].desired_state).toBe('stopped');
    });

    it('logout reaches the owner; without one it deletes the stored link itself and tells the dashboards', async () => {
      const owned = 'locLogout01';
      await api.install(owned);
      await api.setSession(owned, { state: 'reconnecting', phone: '+15550006666' });
      await api.addAuthState(owned);
      await serve(
        api.commands.handle('session.logout', owned, async () => ({ state: 'logged_out', workerId: 'w-4' })),
      );
      const byOwner = await api.request('POST', `/api/locations/${owned}/whatsapp/logout`, admin);
      expect([byOwner.status, byOwner.body.state, byOwner.body.workerId]).toEqual([200, 'logged_out', 'w-4']);
      expect(await api.authStateCount(owned)).toBe(2);
      await Promise.all(subs.map((s) => s.unsubscribe()));
      subs = [];

      const events: EventEnvelope[] = [];
      const sub = api.connection.nc.subscribe(`evt.${owned}.>`, {
        callback: (_e, m) => events.push(m.json()),
      });
      await api.connection.nc.flush();
      const unowned = await api.request('POST', `/api/locations/${owned}/whatsapp/logout`, admin);
      expect(unowned.status).toBe(200);
      expect(unowned.body).toMatchObject({ state: 'logged_out', desiredState: 'stopped', workerId: null });
      expect(await api.authStateCount(owned)).toBe(0);
      const row = await api.dataSource.query<
        { state: string; desired_state: string; phone: string | null }[]
      >(`SELECT state, desired_state, phone FROM sessions WHERE location_id = $1`, [owned]);
      expect(row[0]).toEqual({ state: 'logged_out', desired_state: 'stopped', phone: null });
      await eventually(() =>
        expect(events).toContainEqual(
          expect.objectContaining({
            type: 'session.state_changed',
            payload: expect.objectContaining({
              state: 'logged_out',
              previous: 'reconnecting',
              workerId: null,
            }),
          }),
        ),
      );
      sub.unsubscribe();
    });

    it('logout without a responder but with a live lease waits for the hand-over (409, retry)', async () => {
      const moving = 'locLogout02';
      await api.install(moving);
      await api.setSession(moving, { state: 'open' });
      await api.addAuthState(moving);
      await api.setLease(moving, 'w-leaving', 10_000);
      const res = await api.request('POST', `/api/locations/${moving}/whatsapp/logout`, admin);
      expect([res.status, res.body.code, res.headers.get('retry-after')]).toEqual([
        409,
        'session_moving',
        '5',
      ]);
      expect(await api.authStateCount(moving)).toBe(2);
    });
  });

  describe('events, debug and list', () => {
    const loc = 'locEvents01';
    beforeAll(async () => {
      await api.install(loc);
      await api.setSession(loc, { state: 'open', phone: '+15550007777', owner: 'worker-9' });
      await api.setLease(loc, 'worker-9', 10_000, 5);
      await api.addAuthState(loc);
      await api.dataSource.query(
        `INSERT INTO workers (worker_id, capacity, owned_count) VALUES ('worker-9', 500, 3) ON CONFLICT DO NOTHING`,
      );
      const at = (s: number) => ({ occurredAt: new Date(Date.now() - 60_000 + s * 1000) });
      await api.events.publish(
        'installation.changed',
        loc,
        { change: 'installed', companyId: null, installType: 'Location' },
        at(0),
      );
      await api.events.publish(
        'session.state_changed',
        loc,
        {
          state: 'qr',
          previous: 'connecting',
          code: null,
          reason: 'waiting for the QR code to be scanned',
          workerId: 'worker-9',
        },
        at(1),
      );
      await api.events.publish(
        'session.qr',
        loc,
        { qr: QR, attempt: 1, expiresAt: new Date(Date.now() + 60_000).toISOString(), workerId: 'worker-9' },
        at(2),
      );
      await api.events.publish(
        'message.inbound',
        loc,
        {
          waMessageId: 'WAMSG1',
          chatJid: '15550000002@s.whatsapp.net',
          from: { phone: '+15550000002', jid: '15550000002@s.whatsapp.net', lid: null, pushName: 'Bob' },
          sentAt: new Date().toISOString(),
          content: { kind: 'text', text: 'a private message' },
        },
        at(3),
      );
      await api.events.publish(
        'session.ready',
        loc,
        {
          phone: '+15550007777',
          jid: '15550007777@s.whatsapp.net',
          lid: null,
          pushName: 'Ada',
          workerId: 'worker-9',
        },
        at(4),
      );
    });

    it('lists the recent lifecycle events newest first, without message traffic or secrets', async () => {
      const res = await api.request<{ events: { type: string; summary: string }[] }>(
        'GET',
        `/api/locations/${loc}/whatsapp/events`,
        admin,
      );
      expect(res.status).toBe(200);
      expect(res.body.events.map((e) => e.type)).toEqual([
        'session.ready',
        'session.qr',
        'session.state_changed',
        'installation.changed',
      ]);
      expect(res.body.events[0].summary).toBe('Connected as +15550007777 (Ada)');
      expect(res.text).not.toContain(QR);
      expect(res.text).not.toContain('a private message');
      const limited = await api.request<{ events: unknown[] }>(
        'GET',
        `/api/locations/${loc}/whatsapp/events?limit=2`,
        admin,
      );
      expect(limited.body.events).toHaveLength(2);
      expect((await api.request('GET', `/api/locations/${loc}/whatsapp/events?limit=0`, admin)).status).toBe(
        400,
      );
    });

    it('debug shows lease, epoch, owner worker, auth state and token expiry, and no secret', async () => {
      const res = await api.request<Record<string, Json>>(
        'GET',
        `/api/locations/${loc}/whatsapp/debug`,
        admin,
      );
      expect(res.status).toBe(200);
      expect(res.body.lease).toMatchObject({ ownerId: 'worker-9', epoch: 5, live: true });
      expect(res.body.lease.expiresInMs).toBeGreaterThan(5_000);
      expect(res.body.session).toMatchObject({ state: 'open', stateEpoch: 1, ownerWorkerId: 'worker-9' });
      expect(res.body.ownerWorker).toMatchObject({
        workerId: 'worker-9',
        capacity: 500,
        ownedCount: 3,
        draining: false,
      });
      expect(res.body.authState).toMatchObject({ keys: 2, hasCredentials: true, lastWrittenEpoch: 1 });
      expect(res.body.tokens).toEqual([
        expect.objectContaining({ resource: 'location', kind: 'oauth', expired: false, revision: 0 }),
      ]);
      expect(res.body.tokens[0].expiresInSeconds).toBeGreaterThan(86_000);
      expect(res.body.recentEvents.length).toBe(4);
      const tokenBytes = await api.dataSource.query<{ a: Buffer }[]>(
        `SELECT access_token_enc AS a FROM oauth_tokens WHERE resource_id = $1`,
        [loc],
      );
      expect(res.text).not.toContain(tokenBytes[0].a.toString('base64'));
      expect(res.text).not.toMatch(/access_?token|refresh_?token|value_enc|key_hash/i);
    });

    it('pages through installed locations, leaving uninstalled ones out unless asked', async () => {
      const first = await api.request<{ locations: { locationId: string }[]; next: string | null }>(
        'GET',
        '/api/locations?limit=2',
        admin,
      );
      expect(first.body.locations).toHaveLength(2);
      expect(first.body.next).toBe(first.body.locations[1].locationId);
      const all: string[] = [];
      let after: string | null = null;
      do {
        const page: { body: { locations: { locationId: string }[]; next: string | null } } =
          await api.request('GET', `/api/locations?limit=3${after ? `&after=${after}` : ''}`, admin);
        all.push(...page.body.locations.map((l) => l.locationId));
        after = page.body.next;
      } while (after);
      expect(all).toEqual([...all].sort());
      expect(all).not.toContain('locGone01');
      const withGone = await api.request<{ locations: { locationId: string }[] }>(
        'GET',
        '/api/locations?includeUninstalled=true&limit=500',
        admin,
      );
      expect(withGone.body.locations.map((l) => l.locationId)).toContain('locGone01');
      expect((await api.request('GET', '/api/locations?limit=9999', admin)).status).toBe(400);
    });
  });

  describe('event stream', () => {
    const loc = 'locStream01';
    beforeAll(async () => {
      await api.install(loc);
      await api.setSession(loc, { state: 'starting', owner: 'w-s' });
      await api.setLease(loc, 'w-s', 30_000);
    });

    it('sends a snapshot, then each new QR as SVG and a fresh status after a state change, without a reload', async () => {
      const token = await api.devSession(loc);
      const stream = await SseReader.open(`${api.url}/api/locations/${loc}/events/stream`, token);
      try {
        const snapshot = await stream.next('snapshot');
        expect(snapshot.data.status.whatsapp.state).toBe('starting');
        expect(snapshot.data.qr).toBeNull();

        const published = await api.events.publish('session.qr', loc, {
          qr: QR,
          attempt: 1,
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
          workerId: 'w-s',
        });
        const qr = await stream.next('qr');
        expect(qr.id).toBe(published.envelope.id);
        expect(qr.data.svg).toMatch(/^<svg /);
        expect(qr.data.lifetimeSeconds).toBeGreaterThan(55);
        expect((await stream.next('timeline')).data.type).toBe('session.qr');

        await api.setSession(loc, { state: 'open', phone: '+15550008888', owner: 'w-s' });
        await api.events.publish('session.state_changed', loc, {
          state: 'open',
          previous: 'qr',
          code: null,
          reason: 'connected to WhatsApp',
          workerId: 'w-s',
        });
        const status = await stream.next('status');
        expect(status.data.whatsapp).toMatchObject({ state: 'open', phone: '+15550008888' });
        expect(status.data.explanation.action).toBe('none');
      } finally {
        stream.close();
      }
    });

    it("never shows another location's event, even one published on this location's subject", async () => {
      const stream = await SseReader.open(`${api.url}/api/locations/${loc}/events/stream`, ADMIN_KEY);
      try {
        await stream.next('snapshot');
        // Found by the bad-input suite (test/fuzz): the envelope names another location than its subject.
        const foreign = createEvent('session.pairing_code', 'locOther01', {
          phone: '+15550000001',
          code: 'FOREIGN1',
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
          workerId: 'w-s',
        });
        await api.connection.js.publish(
          `evt.${loc}.session.pairing_code`,
          Buffer.from(JSON.stringify(foreign)),
          {
            msgID: foreign.id,
          },
        );
        await api.events.publish('session.pairing_code', loc, { ...foreign.payload, code: 'OWNCODE1' });
        expect((await stream.next('pairing_code')).data.code).toBe('OWNCODE1');
        expect(stream.frames.filter((f) => JSON.stringify(f.data).includes('FOREIGN1'))).toEqual([]);
      } finally {
        stream.close();
      }
    });

    it('opens with the live QR when one is already showing', async () => {
      await api.setSession(loc, { state: 'qr', qr: QR, qrExpiresInMs: 20_000, owner: 'w-s' });
      const stream = await SseReader.open(`${api.url}/api/locations/${loc}/events/stream`, ADMIN_KEY);
      try {
        const snapshot = await stream.next('snapshot');
        expect(snapshot.data.qr.svg).toMatch(/^<svg /);
        expect(snapshot.data.qr.lifetimeSeconds).toBeLessThanOrEqual(20);
        expect(snapshot.headers.get('content-type')).toContain('text/event-stream');
      } finally {
        stream.close();
      }
    });
  });
});
