import type { INestApplicationContext } from '@nestjs/common';
import { CommandError } from '@app/messaging';
import { register } from 'prom-client';
import { eventually } from '@app/testing';
import {
  inboundText,
  logSink,
  newPhone,
  startSyncTestKit,
  type LogSink,
  type SyncTestKit,
} from './sync-test-kit';

/** Token handling against the sandbox's single-use, rotating refresh tokens (GHL-CONTRACT §2.2, §10). */
describe('sync: GHL tokens', () => {
  let kit: SyncTestKit;
  let logs: LogSink;

  beforeAll(async () => {
    // Room for bursts of first contacts; the limiter itself is tested in rate-limit.integration-spec.
    kit = await startSyncTestKit({ sandbox: { rateLimit: { max: 2_000, intervalMs: 10_000 } } });
    logs = logSink();
    // The sweep of idle tokens is exercised by its own replicas below, not by this one.
    await kit.startSync(
      { GHL_RATE_LIMIT_PER_10S: '2000', SYNC_MAX_DELIVER: '3', GHL_TOKEN_SWEEP_INTERVAL: '1h' },
      logs,
    );
  }, 60_000);

  afterAll(async () => {
    await kit?.close();
  });

  afterEach(async () => {
    expect(await kit.schemaViolations()).toEqual([]);
  });

  const tokenCalls = async (afterSeq: number) =>
    (await kit.admin.requests({ operationId: 'get-access-token', afterSeq })).filter(
      (r) => (r.body as { grant_type?: string } | null)?.grant_type === 'refresh_token',
    );
  const metricSum = async (name: string, labels: Record<string, string>) =>
    ((await register.getSingleMetric(name)?.get())?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
      .reduce((sum, v) => sum + v.value, 0);
  const refreshCount = (outcome: string) => metricSum('ghl_token_refreshes_total', { outcome });
  const lastSeq = async () => (await kit.admin.requests()).reduce((max, r) => Math.max(max, r.seq), 0);

  it('refreshes exactly once for 50 concurrent 401s of one location across two replicas, without an invalid grant', async () => {
    const replicaB = await kit.startSync({ GHL_RATE_LIMIT_PER_10S: '2000', SYNC_MAX_DELIVER: '3' });
    try {
      const { location, accessToken } = await kit.installedLocation();
      await kit.admin.expireTokens({ accessToken, kind: 'access' });
      const since = await lastSeq();
      const reusedBefore = await refreshCount('reused');

      const events = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          kit.publish('message.inbound', location.id, inboundText(newPhone(), `concurrent ${i}`)),
        ),
      );
      await eventually(
        () =>
          expect(events.filter((e) => kit.results(e.id)[0]?.payload.outcome === 'applied')).toHaveLength(50),
        { timeoutMs: 30_000 },
      );

      const refreshes = await tokenCalls(since);
      expect(refreshes).toHaveLength(1);
      expect(refreshes[0].status).toBe(200);
      const unauthorized = (await kit.admin.requests({ afterSeq: since })).filter((r) => r.status === 401);
      expect(unauthorized.length).toBeGreaterThanOrEqual(2);
      const stored = await kit.tokenRepository.read('location', location.id);
      expect(stored?.revision).toBe(2);
      // The stored refresh token is the one GHL issued last, still unused: the next refresh will work.
      const live = (await kit.admin.tokens({ locationId: location.id })).find(
        (t) => t.token === stored?.refreshToken,
      );
      expect(live).toMatchObject({ kind: 'refresh', revoked: false });
      expect(live?.usedAt).toBeUndefined();
      expect((await kit.admin.counts(location.id)).messages.inbound).toBe(50);
      expect(kit.ofType('ghl.token_refreshed', location.id)).toHaveLength(1);
      // The other replica took the lock after the winner and used its tokens instead of refreshing.
      expect(await refreshCount('reused')).toBeGreaterThan(reusedBefore);
    } finally {
      await replicaB.close();
    }
  }, 60_000);

  it('refreshes ahead of expiry and persists both new tokens before using them', async () => {
    const location = await kit.newLocation();
    const pair = await kit.admin.issueTokens({ locationId: location.id });
    await kit.storeTokens(location.id, {
      access: pair.access_token,
      refresh: pair.refresh_token,
      expiresAt: new Date(Date.now() + 60_000),
    });
    const since = await lastSeq();
    const event = await kit.publish(
      'message.inbound',
      location.id,
      inboundText(newPhone(), 'ahead of expiry'),
    );
    await eventually(() => expect(kit.results(event.id)).toHaveLength(1), { timeoutMs: 10_000 });

    expect(await tokenCalls(since)).toHaveLength(1);
    const stored = await kit.tokenRepository.read('location', location.id);
    expect(stored?.revision).toBe(2);
    expect(stored?.accessToken).not.toBe(pair.access_token);
    expect(stored?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 86_000_000);
    // Every GHL call after the refresh used the new token.
    const calls = (await kit.admin.requests({ afterSeq: since })).filter(
      (r) => r.operationId !== 'get-access-token',
    );
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.headers.authorization).toBe(`Bearer ${stored?.accessToken}`);
  });

  it('refreshes the token of an idle location before it expires, once across two sweeping replicas', async () => {
    const location = await kit.newLocation();
    const pair = await kit.admin.issueTokens({ locationId: location.id });
    // Inside the refresh margin (5 min), and no event will ever ask for this token.
    await kit.storeTokens(location.id, {
      access: pair.access_token,
      refresh: pair.refresh_token,
      expiresAt: new Date(Date.now() + 120_000),
    });
    const since = await lastSeq();
    const sweepLogs = logSink();
    const sweeping = { GHL_TOKEN_SWEEP_INTERVAL: '150ms', SYNC_MAX_DELIVER: '3' };
    const replicas = [await kit.startSync(sweeping, sweepLogs), await kit.startSync(sweeping, sweepLogs)];
    try {
      await eventually(
        async () => expect((await kit.tokenRepository.read('location', location.id))?.revision).toBe(2),
        { timeoutMs: 10_000 },
      );
      // Further rounds of both replicas find nothing left to do.
      const rounds = await metricSum('ghl_token_sweeps_total', { outcome: 'completed' });
      await eventually(
        async () =>
          expect(await metricSum('ghl_token_sweeps_total', { outcome: 'completed' })).toBeGreaterThan(
            rounds + 4,
          ),
        { timeoutMs: 10_000 },
      );
      expect(await tokenCalls(since)).toHaveLength(1);
      const stored = await kit.tokenRepository.read('location', location.id);
      expect(stored?.revision).toBe(2);
      expect(stored?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 86_000_000);
      expect(kit.ofType('ghl.token_refreshed', location.id)).toHaveLength(1);
      expect(await metricSum('ghl_token_refreshes_total', { outcome: 'refreshed', trigger: 'sweep' })).toBe(
        1,
      );
      expect(
        sweepLogs.lines.filter((l) => l.msg === 'GHL token refreshed' && l.resourceId === location.id),
      ).toEqual([expect.objectContaining({ why: 'sweep', level: 'info' })]);
      expect(sweepLogs.lines.some((l) => /token sweep/.test(String(l.msg)))).toBe(true);
    } finally {
      for (const replica of replicas) await replica.close();
    }
  }, 30_000);

  it('marks a revoked installation as needing re-authorisation once, stops calling GHL, dead-letters with the reason, and recovers on re-install', async () => {
    const { location } = await kit.installedLocation();
    await kit.admin.revokeTokens({ locationId: location.id });
    const since = await lastSeq();
    const events = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        kit.publish('message.inbound', location.id, inboundText(newPhone(), `while revoked ${i}`)),
      ),
    );
    await eventually(
      async () => {
        const letters = (await kit.deadLetters()).filter((l) =>
          events.some((e) => e.id === l.headers['Dlq-Event-Id']),
        );
        expect(letters).toHaveLength(5);
        for (const letter of letters)
          expect(letter.headers['Dlq-Reason']).toContain('GHL re-authorisation required');
      },
      { timeoutMs: 20_000 },
    );

    const installation = await kit.installationRepository.read(location.id);
    expect(installation).toMatchObject({ status: 'needs_reauth' });
    expect(installation?.reason).toMatch(/refresh token/i);
    expect(await tokenCalls(since)).toHaveLength(1);
    expect(kit.ofType('ghl.reauth_required', location.id)).toHaveLength(1);
    const errorLines = logs.lines.filter(
      (l) =>
        l.level === 'error' &&
        l.locationId === location.id &&
        /re-authorisation required/.test(String(l.msg)),
    );
    expect(errorLines).toHaveLength(1);
    // After the first refusals, nothing more reached GHL for this location: no refresh loop, no retries.
    const ghlCalls = (await kit.admin.requests({ afterSeq: since, locationId: location.id })).length;
    expect(ghlCalls).toBeLessThanOrEqual(5);
    for (const event of events)
      expect(kit.results(event.id).map((r) => r.payload.outcome)).toEqual(['failed']);

    // A new install (the api sends the code) brings the location back.
    const { code } = await kit.admin.issueCode({ userType: 'Location', locationId: location.id });
    await kit.commands.request('oauth.exchange_code', '_global', { code });
    expect(await kit.installationRepository.read(location.id)).toMatchObject({
      status: 'active',
      reason: null,
    });
    const after = await kit.publish(
      'message.inbound',
      location.id,
      inboundText(newPhone(), 'after re-install'),
    );
    await eventually(() => expect(kit.results(after.id).map((r) => r.payload.outcome)).toEqual(['applied']), {
      timeoutMs: 15_000,
    });
  }, 60_000);

  it('keeps the token when GHL says the location is not active, and syncs once it is active again', async () => {
    const { location, accessToken, refreshToken } = await kit.installedLocation();
    await kit.admin.updateLocation(location.id, { active: false });
    await kit.admin.expireTokens({ accessToken, kind: 'access' });
    const event = await kit.publish(
      'message.inbound',
      location.id,
      inboundText(newPhone(), 'paused location'),
    );
    await eventually(
      async () => {
        const refused = (await kit.admin.requests({ operationId: 'get-access-token' })).filter(
          (r) => (r.body as { refresh_token?: string }).refresh_token === refreshToken,
        );
        expect(refused.length).toBeGreaterThanOrEqual(1);
        expect(refused[0].responseBody).toMatchObject({ message: 'Location is not active' });
      },
      { timeoutMs: 10_000 },
    );
    expect(await kit.installationRepository.read(location.id)).toMatchObject({ status: 'active' });
    expect((await kit.tokenRepository.read('location', location.id))?.refreshToken).toBe(refreshToken);

    await kit.admin.updateLocation(location.id, { active: true });
    await eventually(() => expect(kit.results(event.id).map((r) => r.payload.outcome)).toEqual(['applied']), {
      timeoutMs: 15_000,
    });
  }, 30_000);

  describe('code exchange (oauth.exchange_code)', () => {
    it('stores a location install encrypted and marks it active', async () => {
      const location = await kit.newLocation();
      const { code } = await kit.admin.issueCode({ userType: 'Location', locationId: location.id });
      const result = await kit.commands.request('oauth.exchange_code', '_global', { code });
      expect(result).toEqual({
        userType: 'Location',
        companyId: location.companyId,
        locationIds: [location.id],
      });

      const [row] = await kit.dataSource.query<{ access_token_enc: Buffer; refresh_token_enc: Buffer }[]>(
        `SELECT access_token_enc, refresh_token_enc FROM oauth_tokens WHERE resource_type = 'location' AND resource_id = $1`,
        [location.id],
      );
      const stored = await kit.tokenRepository.read('location', location.id);
      const issued = (await kit.admin.tokens({ locationId: location.id })).map((t) => t.token);
      expect(issued).toContain(stored?.accessToken);
      expect(issued).toContain(stored?.refreshToken);
      expect(row.access_token_enc.includes(Buffer.from(stored!.accessToken))).toBe(false);
      expect(row.refresh_token_enc.includes(Buffer.from(stored!.refreshToken!))).toBe(false);
      expect(await kit.installationRepository.read(location.id)).toMatchObject({
        status: 'active',
        installType: 'Location',
      });
      await eventually(() => expect(kit.ofType('installation.changed', location.id)).toHaveLength(1));
    });

    it('answers invalid_request for a code GHL refuses', async () => {
      const location = await kit.newLocation();
      const { code } = await kit.admin.issueCode({ userType: 'Location', locationId: location.id });
      await kit.commands.request('oauth.exchange_code', '_global', { code });
      const reuse = kit.commands.request('oauth.exchange_code', '_global', { code });
      await expect(reuse).rejects.toBeInstanceOf(CommandError);
      await expect(reuse).rejects.toMatchObject({ code: 'invalid_request', retryable: false });
    });

    it('stores an agency install and a working token for each of its locations', async () => {
      const company = await kit.admin.createCompany({ locations: [{}, {}] });
      const { code } = await kit.admin.issueCode({ userType: 'Company', companyId: company.id });
      const result = await kit.commands.request('oauth.exchange_code', '_global', { code });
      expect(result.userType).toBe('Company');
      expect(result.companyId).toBe(company.id);
      expect([...result.locationIds].sort()).toEqual(company.locations.map((l) => l.id).sort());
      expect(await kit.tokenRepository.read('company', company.id)).toMatchObject({ userType: 'Company' });
      for (const location of company.locations) {
        expect(await kit.tokenRepository.read('location', location.id)).toMatchObject({
          userType: 'Location',
        });
        expect(await kit.installationRepository.read(location.id)).toMatchObject({
          status: 'active',
          installType: 'Company',
          companyId: company.id,
        });
      }
      const event = await kit.publish(
        'message.inbound',
        company.locations[0].id,
        inboundText(newPhone(), 'agency'),
      );
      await eventually(
        () => expect(kit.results(event.id).map((r) => r.payload.outcome)).toEqual(['applied']),
        {
          timeoutMs: 10_000,
        },
      );
    });
  });

  describe('Private Integration tokens', () => {
    let pitApp: INestApplicationContext | undefined;

    afterAll(async () => {
      await pitApp?.close();
    });

    it('syncs contacts with a Private Integration token, never refreshes it, and asks for a new one on a 401', async () => {
      const location = await kit.newLocation();
      const pit = (await kit.admin.issueTokens({ locationId: location.id })).access_token;
      pitApp = await kit.startSync({
        GHL_RATE_LIMIT_PER_10S: '2000',
        SYNC_MAX_DELIVER: '3',
        GHL_PRIVATE_INTEGRATION_TOKENS: `${location.id}=${pit}`,
      });
      expect(await kit.tokenRepository.read('location', location.id)).toMatchObject({
        kind: 'private_integration',
        refreshToken: null,
        accessToken: pit,
      });
      const phone = newPhone();
      const event = await kit.publish(
        'message.inbound',
        location.id,
        inboundText(phone, 'via PIT', { pushName: 'Pat' }),
      );
      await eventually(() => expect(kit.results(event.id)).toHaveLength(1), { timeoutMs: 10_000 });
      expect(kit.results(event.id)[0].payload).toMatchObject({ outcome: 'applied', ghlMessageId: null });
      expect(kit.results(event.id)[0].payload.detail).toMatch(/Private Integration/);
      expect(await kit.admin.contacts({ locationId: location.id })).toEqual([
        expect.objectContaining({ phone, name: 'Pat' }),
      ]);
      expect((await kit.admin.counts(location.id)).messages.inbound).toBe(0);

      const since = await lastSeq();
      await kit.admin.revokeTokens({ accessToken: pit });
      const refused = await kit.publish(
        'message.inbound',
        location.id,
        inboundText(newPhone(), 'revoked PIT'),
      );
      await eventually(
        async () =>
          expect(await kit.installationRepository.read(location.id)).toMatchObject({
            status: 'needs_reauth',
          }),
        { timeoutMs: 10_000 },
      );
      expect((await kit.installationRepository.read(location.id))?.reason).toMatch(/Private Integration/);
      expect(await tokenCalls(since)).toHaveLength(0);
      await eventually(
        () => expect(kit.results(refused.id).map((r) => r.payload.outcome)).toEqual(['failed']),
        {
          timeoutMs: 15_000,
        },
      );
    }, 30_000);
  });
});
