import { WorkerCluster } from '@app/testing/worker-cluster';

/**
 * Each WhatsApp disconnect code, injected by the sandbox into a live session, leads to what the
 * disconnect policy says: reconnect (at once or with backoff), or stop in the right terminal state.
 */
describe('session worker: disconnect policy against real Baileys', () => {
  let cluster: WorkerCluster;
  const loc = 'locFaults01';
  const phone = '15550000501';

  beforeAll(async () => {
    cluster = await WorkerCluster.start();
    await cluster.startWorker('faults-a');
    await cluster.link(loc, phone);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  async function inject(kind: 'replaced' | 'restart' | 'drop' | 'silence', code: number) {
    const since = Date.now();
    const fault = await cluster.sandbox.admin.injectFault({ kind, phone });
    // The fault must have hit the live connection, or the test below would wait for nothing.
    expect(fault.affected).toHaveLength(1);
    const disconnected = await cluster.waitForEvent(
      loc,
      'session.disconnected',
      (e) => e.payload.code === code && new Date(e.occurredAt).getTime() >= since - 5,
      20_000,
    );
    await cluster.waitForEvent(loc, 'session.ready', (e) => new Date(e.occurredAt).getTime() > since, 20_000);
    return disconnected.payload;
  }

  it('515 restart: reconnects at once', async () => {
    expect(await inject('restart', 515)).toMatchObject({ willReconnect: true, reconnectInMs: 0 });
  }, 30_000);

  it('428 drop: reconnects with backoff', async () => {
    const payload = await inject('drop', 428);
    expect(payload.willReconnect).toBe(true);
    expect(payload.reconnectInMs).toBeGreaterThan(0);
  }, 30_000);

  it('440 while this worker holds the lease: backs off and reconnects (no tight loop)', async () => {
    const payload = await inject('replaced', 440);
    expect(payload.willReconnect).toBe(true);
    expect(payload.reconnectInMs).toBeGreaterThan(0);
  }, 30_000);

  it('silence: Baileys closes with 408 and the session reconnects', async () => {
    expect(await inject('silence', 408)).toMatchObject({ willReconnect: true });
  }, 40_000);

  it('401 logged out from the phone: auth cleared, state logged_out, no reconnect', async () => {
    const since = Date.now();
    await cluster.sandbox.admin.injectFault({ kind: 'logged_out', phone });
    const loggedOut = await cluster.waitForEvent(
      loc,
      'session.logged_out',
      (e) => new Date(e.occurredAt).getTime() >= since - 5,
    );
    expect(loggedOut.payload.code).toBe(401);
    const row = await cluster.waitForState(loc, 'logged_out');
    expect(row.desired_state).toBe('stopped');
    const auth = await cluster.dataSource.query<{ n: string }[]>(
      `SELECT count(*) AS n FROM auth_state WHERE location_id = $1`,
      [loc],
    );
    expect(Number(auth[0].n)).toBe(0);
    const lease = await cluster.dataSource.query<{ live: boolean }[]>(
      `SELECT expires_at > now() AS live FROM session_leases WHERE location_id = $1`,
      [loc],
    );
    expect(lease[0].live).toBe(false);
  }, 30_000);

  it('a start after logout links again with a new QR', async () => {
    const qrs = cluster.eventsOf(loc, 'session.qr').length;
    await cluster.commands.request('session.start', loc, {});
    await cluster.waitForEvent(loc, 'session.qr', () => cluster.eventsOf(loc, 'session.qr').length > qrs);
    expect((await cluster.sessionRow(loc)).state).toBe('qr');
  }, 30_000);

  it('QR refs run out: the session stops in qr_timeout and stays stopped', async () => {
    const cluster2 = await WorkerCluster.start({ WA_SANDBOX_QR_REFS: '2' });
    try {
      await cluster2.startWorker('qr-a', { QR_TIMEOUT_MS: '1000' });
      const qrLoc = 'locQrTimeout';
      await cluster2.install(qrLoc);
      await cluster2.commands.request('session.start', qrLoc, {});
      const row = await cluster2.waitForState(qrLoc, 'qr_timeout', 20_000);
      expect(row.desired_state).toBe('stopped');
      expect(cluster2.eventsOf(qrLoc, 'session.qr').map((e) => e.payload.attempt)).toEqual([1, 2]);
      expect(cluster2.eventsOf(qrLoc, 'session.disconnected').at(-1)?.payload).toMatchObject({
        code: 408,
        willReconnect: false,
      });
    } finally {
      await cluster2.stop();
    }
  }, 60_000);
});
