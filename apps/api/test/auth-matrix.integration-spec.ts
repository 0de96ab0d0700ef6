import { apiConfigSchema, DEV_SECRETS, parseEnv } from '@app/config';
import { encryptUserContext } from '@app/ghl-sandbox-client/sso-user-context';
import type { CommandSubscription } from '@app/messaging';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { ADMIN_KEY, ApiHarness } from './api-harness';

const A = 'locMatrixA0001';
const B = 'locMatrixB0001';

type Cred =
  | 'admin'
  | 'adminDbKey'
  | 'keyA'
  | 'keyB'
  | 'dashboardA'
  | 'ghlSessionA'
  | 'none'
  | 'bad'
  | 'revoked'
  | 'forged';

interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  path: (loc: string) => string;
  body?: unknown;
  /** An event stream: only the status line is read. */
  stream?: boolean;
}

const endpoints: Endpoint[] = [
  { name: 'status', method: 'GET', path: (l) => `/api/locations/${l}/whatsapp/status` },
  { name: 'qr png', method: 'GET', path: (l) => `/api/locations/${l}/whatsapp/qr` },
  { name: 'qr svg', method: 'GET', path: (l) => `/api/locations/${l}/whatsapp/qr?format=svg` },
  { name: 'connect', method: 'POST', path: (l) => `/api/locations/${l}/whatsapp/connect` },
  { name: 'restart', method: 'POST', path: (l) => `/api/locations/${l}/whatsapp/restart` },
  { name: 'stop', method: 'POST', path: (l) => `/api/locations/${l}/whatsapp/stop` },
  { name: 'logout', method: 'POST', path: (l) => `/api/locations/${l}/whatsapp/logout` },
  {
    name: 'pairing-code',
    method: 'POST',
    path: (l) => `/api/locations/${l}/whatsapp/pairing-code`,
    body: { phone: '+15550001111' },
  },
  {
    name: 'messages',
    method: 'POST',
    path: (l) => `/api/locations/${l}/whatsapp/messages`,
    body: { to: '+15550002222', text: 'hello' },
  },
  { name: 'events', method: 'GET', path: (l) => `/api/locations/${l}/whatsapp/events` },
  { name: 'debug', method: 'GET', path: (l) => `/api/locations/${l}/whatsapp/debug` },
  { name: 'stream', method: 'GET', path: (l) => `/api/locations/${l}/events/stream`, stream: true },
];

/**
 * Every credential × every location endpoint: a location-scoped credential reaches its own location
 * and never another; no or a bad credential never reaches anything.
 */
describe('api auth matrix', () => {
  let api: ApiHarness;
  const creds = {} as Record<Cred, string | null>;
  const served: CommandSubscription[] = [];

  beforeAll(async () => {
    // Budgets high enough for the matrix; the rate limiter has its own test below.
    api = await ApiHarness.start({ API_RATE_LIMIT_PER_SECOND: '10000', API_RATE_LIMIT_BURST: '10000' });
    for (const loc of [A, B]) {
      await api.install(loc);
      await api.setSession(loc, {
        state: 'qr',
        qr: `2@${loc},qr,string`,
        qrExpiresInMs: 60_000,
        owner: 'w1',
      });
      await api.setLease(loc, 'w1', 60_000);
      // The test plays the owning worker for both locations.
      served.push(
        api.commands.handle('session.start', loc, async () => ({ state: 'qr', workerId: 'w1' })),
        api.commands.handle('session.restart', loc, async () => ({ state: 'connecting', workerId: 'w1' })),
        api.commands.handle('session.stop', loc, async () => ({ state: 'stopped', workerId: 'w1' })),
        api.commands.handle('session.logout', loc, async () => ({ state: 'logged_out', workerId: 'w1' })),
        api.commands.handle('session.request_pairing_code', loc, async () => ({
          code: 'ABCD1234',
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        })),
        api.commands.handle('session.send', loc, async () => ({
          waMessageId: '3EB0ABC',
          sentAt: new Date().toISOString(),
        })),
      );
    }
    await Promise.all(served.map((s) => s.ready));
    creds.admin = ADMIN_KEY;
    creds.adminDbKey = await api.apiKey('admin');
    creds.keyA = await api.apiKey('location', A);
    creds.keyB = await api.apiKey('location', B);
    creds.dashboardA = await api.devSession(A);
    const exchanged = await api.request<{ token: string }>('POST', '/api/session', {
      body: {
        payload: encryptUserContext(
          { userId: 'u1', companyId: 'c1', role: 'user', type: 'location', activeLocation: A },
          DEV_SECRETS.GHL_APP_SHARED_SECRET,
        ),
      },
    });
    creds.ghlSessionA = exchanged.body.token;
    creds.none = null;
    creds.bad = `wak_${randomBytes(32).toString('base64url')}`;
    creds.revoked = await api.apiKey('location', A);
    await api.dataSource.query(`UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1`, [
      createHash('sha256').update(creds.revoked).digest('hex'),
    ]);
    // A session token for A, re-signed by someone who does not know the key.
    const [prefix, claims] = creds.dashboardA.split('.');
    creds.forged = `${prefix}.${claims}.${randomBytes(32).toString('base64url')}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(served.map((s) => s.unsubscribe()));
    await api?.stop();
  });

  async function call(
    endpoint: Endpoint,
    loc: string,
    cred: Cred,
  ): Promise<{ status: number; code?: string }> {
    const token = creds[cred];
    if (endpoint.stream) {
      const controller = new AbortController();
      const res = await fetch(`${api.url}${endpoint.path(loc)}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: controller.signal,
      });
      const code = res.ok ? undefined : ((await res.json()) as { code: string }).code;
      controller.abort();
      return { status: res.status, code };
    }
    const res = await api.request<{ code?: string }>(endpoint.method, endpoint.path(loc), {
      token,
      body: endpoint.body,
    });
    return { status: res.status, code: typeof res.body === 'object' ? res.body?.code : undefined };
  }

  const allowed: Cred[] = ['admin', 'adminDbKey', 'keyA', 'dashboardA', 'ghlSessionA'];
  const unauthenticated: Cred[] = ['none', 'bad', 'revoked', 'forged'];

  describe.each(endpoints)('$method $name', (endpoint) => {
    it.each(allowed)('lets %s act on location A', async (cred) => {
      const { status } = await call(endpoint, A, cred);
      expect(status).toBeGreaterThanOrEqual(200);
      expect(status).toBeLessThan(300);
    });

    it('refuses the location key of B on location A, and the session of A on B', async () => {
      expect(await call(endpoint, A, 'keyB')).toEqual({ status: 403, code: 'forbidden_location' });
      expect(await call(endpoint, B, 'dashboardA')).toEqual({ status: 403, code: 'forbidden_location' });
      expect(await call(endpoint, B, 'ghlSessionA')).toEqual({ status: 403, code: 'forbidden_location' });
      expect(await call(endpoint, B, 'keyA')).toEqual({ status: 403, code: 'forbidden_location' });
    });

    it.each(unauthenticated)('answers 401 to %s credentials', async (cred) => {
      expect(await call(endpoint, A, cred)).toEqual({ status: 401, code: 'unauthorized' });
    });
  });

  it('lists all locations for an admin and only its own for a location credential', async () => {
    const ids = async (cred: Cred) =>
      (
        await api.request<{ locations: { locationId: string }[] }>('GET', '/api/locations', {
          token: creds[cred],
        })
      ).body.locations.map((l) => l.locationId);
    expect(await ids('admin')).toEqual([A, B]);
    expect(await ids('keyA')).toEqual([A]);
    expect(await ids('dashboardA')).toEqual([A]);
    expect(await ids('keyB')).toEqual([B]);
    expect((await api.request('GET', '/api/locations')).status).toBe(401);
  });

  it('keeps key management to admins', async () => {
    for (const cred of ['admin', 'adminDbKey'] as const) {
      expect((await api.request('GET', '/api/keys', { token: creds[cred] })).status).toBe(200);
    }
    for (const cred of ['keyA', 'dashboardA'] as const) {
      const res = await api.request('POST', '/api/keys', { token: creds[cred], body: { scope: 'admin' } });
      expect([res.status, res.body.code]).toEqual([403, 'admin_required']);
    }
    expect((await api.request('GET', '/api/keys')).status).toBe(401);
  });

  it('creates a location key that works at once for its location only, lists it without the key, and revokes it', async () => {
    const created = await api.request<{
      key: string;
      apiKey: { id: string; scope: string; locationId: string };
    }>('POST', '/api/keys', {
      token: ADMIN_KEY,
      body: { scope: 'location', locationId: B, label: 'support laptop' },
    });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^wak_[A-Za-z0-9_-]{43}$/);
    expect(created.body.apiKey).toMatchObject({ scope: 'location', locationId: B, label: 'support laptop' });
    const key = created.body.key;
    expect((await api.request('GET', `/api/locations/${B}/whatsapp/status`, { token: key })).status).toBe(
      200,
    );
    expect((await api.request('GET', `/api/locations/${A}/whatsapp/status`, { token: key })).status).toBe(
      403,
    );

    const listed = await api.request('GET', '/api/keys', { token: ADMIN_KEY });
    expect(listed.text).not.toContain(key);
    const stored = await api.dataSource.query<{ key_hash: string }[]>(
      `SELECT key_hash FROM api_keys WHERE id = $1`,
      [created.body.apiKey.id],
    );
    expect(stored[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0].key_hash).not.toContain(key);

    const revoked = await api.request('DELETE', `/api/keys/${created.body.apiKey.id}`, { token: ADMIN_KEY });
    expect(revoked.status).toBe(200);
    expect((await api.request('GET', `/api/locations/${B}/whatsapp/status`, { token: key })).status).toBe(
      401,
    );
  });

  it('refuses malformed key requests and unknown key ids with a stable code', async () => {
    const bad = await api.request('POST', '/api/keys', { token: ADMIN_KEY, body: { scope: 'location' } });
    expect([bad.status, bad.body.code]).toEqual([400, 'invalid_request']);
    expect(bad.body.details).toEqual([
      { path: 'body.locationId', message: 'a location key needs a locationId' },
    ]);
    const missing = await api.request('DELETE', '/api/keys/9b2f9f3e-0d7a-4f59-9a59-7f1b5d8c1a00', {
      token: ADMIN_KEY,
    });
    expect([missing.status, missing.body.code]).toEqual([404, 'api_key_not_found']);
    const notUuid = await api.request('DELETE', '/api/keys/nope', { token: ADMIN_KEY });
    expect(notUuid.status).toBe(400);
  });

  it('checks the location id format before anything else', async () => {
    const res = await api.request('GET', '/api/locations/bad.loc*/whatsapp/status', { token: ADMIN_KEY });
    expect([res.status, res.body.code]).toEqual([400, 'invalid_location_id']);
  });

  describe('dashboard sessions from GHL user context', () => {
    const payload = (context: object, secret: string = DEV_SECRETS.GHL_APP_SHARED_SECRET) => ({
      payload: encryptUserContext(context, secret),
    });

    it('mints a 15-minute session scoped to the active location', async () => {
      const res = await api.request<{ token: string; expiresAt: string; locationId: string; user: object }>(
        'POST',
        '/api/session',
        {
          body: payload({
            userId: 'u2',
            companyId: 'c1',
            role: 'admin',
            type: 'location',
            userName: 'Ada',
            activeLocation: B,
          }),
        },
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        locationId: B,
        user: { userId: 'u2', userName: 'Ada', role: 'admin' },
      });
      const ttl = Date.parse(res.body.expiresAt) - Date.now();
      expect(ttl).toBeGreaterThan(14 * 60_000);
      expect(ttl).toBeLessThanOrEqual(15 * 60_000);
      expect(res.body.token.startsWith('dsh1.')).toBe(true);
    });

    it('refuses a context made with another secret, an agency context and an uninstalled location', async () => {
      const wrong = await api.request('POST', '/api/session', {
        body: payload({ userId: 'u', activeLocation: A }, 'not-the-secret'),
      });
      expect([wrong.status, wrong.body.code]).toEqual([401, 'invalid_user_context']);
      const agency = await api.request('POST', '/api/session', {
        body: payload({ userId: 'u', companyId: 'c', type: 'agency', role: 'admin' }),
      });
      expect([agency.status, agency.body.code]).toEqual([403, 'no_active_location']);
      const notInstalled = await api.request('POST', '/api/session', {
        body: payload({ userId: 'u', type: 'location', activeLocation: 'locNeverInstalled' }),
      });
      expect([notInstalled.status, notInstalled.body.code]).toEqual([403, 'location_not_installed']);
      const garbage = await api.request('POST', '/api/session', {
        body: { payload: 'bm90IGEgY2lwaGVydGV4dA==' },
      });
      expect([garbage.status, garbage.body.code]).toEqual([401, 'invalid_user_context']);
      const missing = await api.request('POST', '/api/session', { body: {} });
      expect([missing.status, missing.body.code]).toEqual([400, 'invalid_request']);
    });

    it('gives development sessions only for installed locations', async () => {
      const res = await api.request('POST', '/api/dev/session', {
        body: { locationId: 'locNeverInstalled' },
      });
      expect([res.status, res.body.code]).toEqual([403, 'location_not_installed']);
    });
  });

  it('limits requests per credential, with Retry-After, without touching other credentials', async () => {
    const limited = await ApiHarness.start(
      { API_RATE_LIMIT_PER_SECOND: '1', API_RATE_LIMIT_BURST: '3' },
      { nats: api.nats, db: api.db },
    );
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        statuses.push(
          (await limited.request('GET', `/api/locations/${A}/whatsapp/status`, { token: creds.keyA })).status,
        );
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await limited.request('GET', `/api/locations/${A}/whatsapp/status`, {
        token: creds.keyA,
      });
      expect(refused.body).toMatchObject({ code: 'rate_limited', retryable: true });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(
        (await limited.request('GET', `/api/locations/${B}/whatsapp/status`, { token: creds.keyB })).status,
      ).toBe(200);
      // Guessing keys spends the caller's IP budget: after the burst even a bad key gets 429, not 401.
      const guesses = [];
      for (let i = 0; i < 4; i++) {
        guesses.push((await limited.request('GET', '/api/locations', { token: `wak_guess_${i}` })).status);
      }
      expect(guesses).toEqual([401, 401, 401, 429]);
    } finally {
      await limited.stop(true);
    }
  }, 30_000);

  it('refuses the development login in production, as if the route did not exist', async () => {
    const spki = (type: 'ed25519' | 'rsa') =>
      String(
        (type === 'ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 2048 })
        ).publicKey.export({
          type: 'spki',
          format: 'pem',
        }),
      );
    const production = {
      NODE_ENV: 'production',
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      GHL_APP_SHARED_SECRET: 'prod-shared-secret',
      GHL_CLIENT_ID: 'prod-client-id',
      GHL_CLIENT_SECRET: 'prod-client-secret',
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: spki('ed25519'),
      GHL_WEBHOOK_PUBLIC_KEY_RSA: spki('rsa'),
    };
    expect(() => parseEnv(apiConfigSchema, production)).not.toThrow();
    const prod = await ApiHarness.start(production, { nats: api.nats, db: api.db });
    try {
      const res = await prod.request('POST', '/api/dev/session', { body: { locationId: A } });
      expect([res.status, res.body.code]).toEqual([404, 'not_found']);
      // A development session token is worthless there too: the signing key comes from ENCRYPTION_KEY.
      const stale = await prod.request('GET', `/api/locations/${A}/whatsapp/status`, {
        token: creds.dashboardA,
      });
      expect(stale.status).toBe(401);
    } finally {
      await prod.stop(true);
    }
  }, 30_000);
});
