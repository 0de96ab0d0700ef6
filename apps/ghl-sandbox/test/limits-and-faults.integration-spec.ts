import { GhlSandboxAdminError } from '@app/ghl-sandbox-client';
import { CLIENT, locationWithToken, startTestSandbox, type TestSandbox } from './sandbox-fixture';

describe('GHL sandbox: rate limits (GHL-CONTRACT §7) and fault injection', () => {
  let t: TestSandbox;
  let locationId: string;
  let token: string;

  beforeAll(async () => {
    // A window long enough that the whole burst below falls inside it on a slow machine.
    t = await startTestSandbox({ rateLimit: { max: 100, intervalMs: 60_000 } });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.admin.reset();
    ({
      location: { id: locationId },
      token,
    } = await locationWithToken(t.admin));
  });

  const lookup = (tk = token, loc = locationId) =>
    t.api.duplicateContact(tk, { locationId: loc, number: '+15550000000' });

  it('every API answer carries the five X-RateLimit headers', async () => {
    const res = await lookup();
    expect(res.status).toBe(200);
    expect({
      daily: res.headers.get('x-ratelimit-limit-daily'),
      dailyRemaining: res.headers.get('x-ratelimit-daily-remaining'),
      interval: res.headers.get('x-ratelimit-interval-milliseconds'),
      max: res.headers.get('x-ratelimit-max'),
      remaining: res.headers.get('x-ratelimit-remaining'),
    }).toEqual({ daily: '200000', dailyRemaining: '199999', interval: '60000', max: '100', remaining: '99' });
    expect(res.headers.get('retry-after')).toBeNull();
  });

  it('the 101st request in the window is 429, per location: another location is unaffected', async () => {
    for (let i = 0; i < 100; i++) {
      const res = await lookup();
      expect({ i, status: res.status }).toEqual({ i, status: 200 });
    }
    const limited = await lookup();
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ statusCode: 429, message: 'Too Many Requests' });
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');

    const other = await locationWithToken(t.admin);
    const elsewhere = await lookup(other.token, other.location.id);
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.headers.get('x-ratelimit-remaining')).toBe('99');
  });

  it('the window slides: capacity returns once it has passed', async () => {
    await t.admin.updateSettings({ rateLimit: { max: 3, intervalMs: 300 } });
    try {
      for (let i = 0; i < 3; i++) expect((await lookup()).status).toBe(200);
      expect((await lookup()).status).toBe(429);
      const started = Date.now();
      let status = 429;
      while (status === 429 && Date.now() - started < 5_000) {
        await new Promise((r) => setTimeout(r, 25));
        status = (await lookup()).status;
      }
      expect(status).toBe(200);
    } finally {
      await t.admin.updateSettings({ rateLimit: { max: 100, intervalMs: 60_000 } });
    }
  });

  it('the daily limit applies per location too', async () => {
    await t.admin.updateSettings({ rateLimit: { daily: 2 } });
    try {
      expect((await lookup()).headers.get('x-ratelimit-daily-remaining')).toBe('1');
      expect((await lookup()).headers.get('x-ratelimit-daily-remaining')).toBe('0');
      const over = await lookup();
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBeNull();
      const other = await locationWithToken(t.admin);
      expect((await lookup(other.token, other.location.id)).status).toBe(200);
    } finally {
      await t.admin.updateSettings({ rateLimit: { daily: 200_000 } });
    }
  });

  it('Retry-After (undocumented, §12 Q1) is sent on a 429 only when switched on', async () => {
    await t.admin.updateSettings({ rateLimit: { max: 1, retryAfterHeader: true } });
    try {
      expect((await lookup()).headers.get('retry-after')).toBeNull();
      const over = await lookup();
      expect(over.status).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    } finally {
      await t.admin.updateSettings({ rateLimit: { max: 100, retryAfterHeader: false } });
    }
  });

  describe('faults', () => {
    it('a 5xx fault answers the matching requests for `times`, then stops', async () => {
      await t.admin.addFault({
        match: { operationId: 'get-duplicate-contact' },
        action: { kind: 'error', status: 503 },
        times: 2,
      });
      expect((await lookup()).status).toBe(503);
      expect((await lookup()).status).toBe(503);
      expect((await lookup()).status).toBe(200);
      expect(await t.admin.faults()).toEqual([]);
      const recorded = await t.admin.requests({ operationId: 'get-duplicate-contact' });
      expect(recorded.map((r) => r.status)).toEqual([503, 503, 200]);
      expect(recorded[0].faultId).toBeDefined();
    });

    it('a fault only hits what it matches (method, path prefix, location)', async () => {
      const other = await locationWithToken(t.admin);
      await t.admin.addFault({
        match: { path: '/contacts/*', locationId },
        action: { kind: 'error', status: 500 },
      });
      expect((await lookup()).status).toBe(500);
      expect((await lookup(other.token, other.location.id)).status).toBe(200);
      expect((await t.api.getLocation(token, locationId)).status).toBe(200);
      await t.admin.clearFaults();
      expect((await lookup()).status).toBe(200);
    });

    it('a 429 storm answers 429 with exhausted headers until it ends', async () => {
      const storm = await t.admin.addFault({ action: { kind: 'rate-limit' }, times: 3 });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await lookup());
      expect(statuses.map((r) => r.status)).toEqual([429, 429, 429, 200]);
      expect(statuses[0].headers.get('x-ratelimit-remaining')).toBe('0');
      expect(statuses[0].body).toEqual({ statusCode: 429, message: 'Too Many Requests' });
      expect(storm.id).toBeTruthy();
    });

    it('a duration-bound storm hits the token endpoint too', async () => {
      await t.admin.addFault({
        match: { operationId: 'get-access-token' },
        action: { kind: 'rate-limit' },
        durationMs: 60_000,
      });
      const res = await t.api.refresh({ ...CLIENT, refreshToken: 'whatever' });
      expect(res.status).toBe(429);
      const [fault] = await t.admin.faults();
      expect(fault.hits).toBe(1);
      await t.admin.removeFault(fault.id);
      expect((await t.api.refresh({ ...CLIENT, refreshToken: 'whatever' })).status).toBe(400);
    });

    it('a slow response holds the answer for the configured time', async () => {
      await t.admin.addFault({ match: { method: 'GET' }, action: { kind: 'delay', ms: 300 }, times: 1 });
      const started = Date.now();
      const res = await lookup();
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    });

    it('a dropped connection fails the request without an answer', async () => {
      await t.admin.addFault({ action: { kind: 'drop' }, times: 1 });
      await expect(lookup()).rejects.toThrow();
      expect((await lookup()).status).toBe(200);
    });

    it('token revocation by location kills its access and refresh tokens, and only those', async () => {
      const other = await locationWithToken(t.admin);
      expect(await t.admin.revokeTokens({ locationId: other.location.id })).toEqual({ revoked: 2 });
      const api = await lookup(other.token, other.location.id);
      expect(api.status).toBe(401);
      expect(api.body).toEqual({ statusCode: 401, message: 'Invalid JWT', error: 'Unauthorized' });
      const refresh = await t.api.refresh({ ...CLIENT, refreshToken: other.tokens.refresh_token });
      expect(refresh.body).toEqual({ statusCode: 400, message: 'Invalid grant: refresh token is invalid' });
      expect((await lookup()).status).toBe(200);
    });

    it('the admin API refuses a malformed fault with 400 naming the field', async () => {
      const err = await t.admin.addFault({ action: { kind: 'error', status: 200 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GhlSandboxAdminError);
      expect((err as GhlSandboxAdminError).status).toBe(400);
      expect(JSON.stringify((err as GhlSandboxAdminError).body)).toContain('action.status');
    });
  });
});
