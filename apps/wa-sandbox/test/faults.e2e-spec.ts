import { join } from 'node:path';
import { eventually, faultStatusCodes, type FaultKind } from '@app/wa-sandbox-client';
import { isClose, isOpen, pairSession, startHarness, type Harness } from './harness';

jest.setTimeout(120_000);

describe('wa-sandbox faults with real Baileys', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(() => h?.stop());

  // Each connection-level fault, and what Baileys must report for it; the session reconnects after.
  const recoverable: [FaultKind, string][] = [
    ['replaced', 'Stream Errored (conflict)'],
    ['restart', 'Stream Errored (restart required)'],
    ['drop', 'Connection Terminated'],
    ['silence', 'Connection was lost'],
  ];

  describe('on one account', () => {
    const PHONE = '15553000001';

    beforeAll(async () => {
      // A short keep-alive so that silence is noticed in ~3 s rather than 35 s.
      await pairSession(h, 'victim', PHONE, { keepAliveIntervalMs: 1_000 });
    });

    it.each(recoverable)(
      '%s closes Baileys with the mapped status code, and the device logs in again',
      async (kind, message) => {
        const after = h.driver.mark();
        const result = await h.sandbox.admin.injectFault({ kind, phone: PHONE });
        expect(result).toEqual({ kind, affected: [{ phone: PHONE, deviceId: 1 }] });
        const close = await h.driver.waitFor('connection', isClose('victim'), { after, timeoutMs: 20_000 });
        expect(close).toMatchObject({ statusCode: faultStatusCodes[kind], error: message });
        // The driver reconnects by itself on 515 only (as after pairing); otherwise the test does.
        const reconnectFrom = h.driver.mark();
        if (kind !== 'restart') await h.driver.reconnect('victim');
        await h.driver.waitFor('connection', isOpen('victim'), {
          after: kind === 'restart' ? after : reconnectFrom,
          timeoutMs: 20_000,
        });
      },
    );

    it('logged_out closes with 401 and the device can never log in again', async () => {
      const after = h.driver.mark();
      await h.sandbox.admin.injectFault({ kind: 'logged_out', phone: PHONE });
      const close = await h.driver.waitFor('connection', isClose('victim'), { after });
      expect(close).toMatchObject({ statusCode: 401, error: 'Stream Errored (conflict)' });
      const relogin = h.driver.mark();
      await h.driver.reconnect('victim');
      const refused = await h.driver.waitFor('connection', isClose('victim'), { after: relogin });
      expect(refused).toMatchObject({ statusCode: 401, error: 'Connection Failure' });
      expect((await h.sandbox.admin.account(PHONE)).devices).toEqual([]);
    });

    it('counts the injected faults by kind', async () => {
      const { faults } = await h.sandbox.admin.stats();
      expect(faults).toEqual({ replaced: 1, restart: 1, drop: 1, silence: 1, logged_out: 1 });
    });
  });

  it('unlinking a device from the phone closes it with 401 and refuses its later logins', async () => {
    const PHONE = '15553000002';
    await pairSession(h, 'unlinked', PHONE);
    const after = h.driver.mark();
    await expect(h.sandbox.admin.unlinkDevice(PHONE, 1)).resolves.toEqual({
      phone: PHONE,
      deviceId: 1,
      wasConnected: true,
    });
    const close = await h.driver.waitFor('connection', isClose('unlinked'), { after });
    expect(close.statusCode).toBe(401);
    for (let attempt = 0; attempt < 2; attempt++) {
      const from = h.driver.mark();
      await h.driver.reconnect('unlinked');
      const refused = await h.driver.waitFor('connection', isClose('unlinked'), { after: from });
      expect(refused).toMatchObject({ statusCode: 401, error: 'Connection Failure' });
    }
    const stats = await h.sandbox.admin.stats();
    expect(stats.unlinks).toBe(1);
    expect(stats.loginFailures).toBeGreaterThanOrEqual(3);
  });

  it('detects two sockets on the same credentials, counting before it evicts the older one (440)', async () => {
    const PHONE = '15553000003';
    const authFile = join(h.dir, 'twin.json');
    await pairSession(h, 'twin-a', PHONE, { authFile });
    await h.driver.saveAuth('twin-a');
    const before = await h.sandbox.admin.stats({ phone: PHONE });
    expect(before.perAccount).toEqual([
      { phone: PHONE, open: 1, devices: [{ deviceId: 1, open: 1, logins: 1, doubleConnections: 0 }] },
    ]);
    const after = h.driver.mark();
    // A second process with a copy of the same creds: what a duplicate worker or an overlapping deploy does.
    await h.driver.connect('twin-b', { url: h.sandbox.wsUrl, authFile, reconnectOn: [] });
    await h.driver.waitFor('connection', isOpen('twin-b'), { after });
    const evicted = await h.driver.waitFor('connection', isClose('twin-a'), { after });
    expect(evicted).toMatchObject({ statusCode: 440, error: 'Stream Errored (conflict)' });
    const stats = await eventually(async () => {
      const s = await h.sandbox.admin.stats({ phone: PHONE });
      return s.perAccount?.[0].open === 1 ? s : undefined;
    });
    expect(stats.doubleConnections).toBe(1);
    expect(stats.perAccount).toEqual([
      { phone: PHONE, open: 1, devices: [{ deviceId: 1, open: 1, logins: 2, doubleConnections: 1 }] },
    ]);
    expect((await h.sandbox.admin.account(PHONE)).devices[0].doubleConnections).toBe(1);
  });

  it('injects a fault into a percentage of all logged-in connections', async () => {
    await h.driver.end('twin-b');
    const sessions = new Map([
      ['15553000011', 'many-1'],
      ['15553000012', 'many-2'],
      ['15553000013', 'many-3'],
      ['15553000014', 'many-4'],
    ]);
    for (const [phone, session] of sessions) await pairSession(h, session, phone);
    await eventually(async () =>
      (await h.sandbox.admin.stats()).connections.loggedIn === 4 ? true : undefined,
    );
    const after = h.driver.mark();
    const result = await h.sandbox.admin.injectFault({ kind: 'restart', percent: 50 });
    expect(result.affected).toHaveLength(2);
    // Each affected device restarts (515) and the driver, like any Baileys wrapper, logs in again.
    for (const { phone } of result.affected) {
      const session = sessions.get(phone) ?? '';
      await h.driver.waitFor('connection', (e) => isClose(session)(e) && e.statusCode === 515, { after });
      await h.driver.waitFor('connection', isOpen(session), { after });
    }
    const untouched = [...sessions].filter(([phone]) => !result.affected.some((a) => a.phone === phone));
    for (const [, session] of untouched) {
      expect(h.driver.events.slice(after).some((e) => e.type === 'connection' && isClose(session)(e))).toBe(
        false,
      );
    }
  });
});
