import { eventually } from '@app/testing';
import { WorkerCluster } from '@app/testing/worker-cluster';

/**
 * Ownership across several worker processes: one owner per session at any instant, sessions survive
 * restarts without a new QR, a dead owner's sessions move within the lease TTL, and a graceful
 * shutdown hands sessions over without a single 440.
 */
describe('session worker: ownership across workers', () => {
  let cluster: WorkerCluster;

  beforeAll(async () => {
    cluster = await WorkerCluster.start();
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  const conflicts = (loc: string) =>
    cluster.eventsOf(loc, 'session.disconnected').filter((e) => e.payload.code === 440).length;

  it('two workers racing for one session: exactly one owner, no double connection', async () => {
    await Promise.all([cluster.startWorker('race-a'), cluster.startWorker('race-b')]);
    const loc = 'locRace001';
    await cluster.link(loc, '15550000201');
    const claimedBy = [...cluster.workers.entries()]
      .filter(([, w]) => w.hasLog((l) => l.msg === 'session claimed' && l.locationId === loc))
      .map(([id]) => id);
    expect(claimedBy).toHaveLength(1);
    expect((await cluster.sessionRow(loc)).owner_worker_id).toBe(claimedBy[0]);
    expect(await cluster.doubleConnections()).toBe(0);
  }, 60_000);

  it('SIGTERM on the owner: another worker reopens the session within seconds, with no QR and no 440', async () => {
    const loc = 'locRace001';
    const owner = (await cluster.sessionRow(loc)).owner_worker_id!;
    const survivor = [...cluster.workers.keys()].find((id) => id !== owner)!;
    const qrBefore = cluster.eventsOf(loc, 'session.qr').length;
    const readyBefore = cluster.eventsOf(loc, 'session.ready').length;

    const exit = await cluster.workers.get(owner)!.stop('SIGTERM');
    expect(exit.code).toBe(0);
    const ready = await cluster.waitForEvent(
      loc,
      'session.ready',
      (e) => e.payload.workerId === survivor,
      10_000,
    );
    expect(cluster.eventsOf(loc, 'session.ready').length).toBe(readyBefore + 1);
    expect(ready.payload.phone).toBe('+15550000201');
    expect(cluster.eventsOf(loc, 'session.qr')).toHaveLength(qrBefore);
    expect(conflicts(loc)).toBe(0);
    expect(await cluster.doubleConnections()).toBe(0);
    cluster.workers.delete(owner);
  }, 60_000);

  it('kill -9 of the owner: another worker owns and reopens the session after the lease TTL', async () => {
    const loc = 'locRace001';
    await cluster.startWorker('kill-c');
    const owner = (await cluster.sessionRow(loc)).owner_worker_id!;
    const epochBefore = Number((await cluster.sessionRow(loc)).state_epoch);
    const killedAt = Date.now();
    await cluster.workers.get(owner)!.stop('SIGKILL');
    cluster.workers.delete(owner);
    const ready = await cluster.waitForEvent(
      loc,
      'session.ready',
      (e) => e.payload.workerId !== owner && new Date(e.occurredAt).getTime() > killedAt,
      15_000,
    );
    expect(cluster.workers.has(ready.payload.workerId)).toBe(true);
    const row = await cluster.waitForState(loc, 'open');
    expect(Number(row.state_epoch)).toBeGreaterThan(epochBefore);
    expect(await cluster.doubleConnections()).toBe(0);
  }, 60_000);

  it('a restarted worker resumes its sessions from the database with no new QR', async () => {
    const loc = 'locResume01';
    for (const [id, w] of cluster.workers) {
      await w.stop('SIGTERM');
      cluster.workers.delete(id);
    }
    await cluster.startWorker('resume-a');
    await cluster.link(loc, '15550000301');
    const qrs = cluster.eventsOf(loc, 'session.qr').length;
    await cluster.workers.get('resume-a')!.stop('SIGTERM');
    cluster.workers.delete('resume-a');
    await cluster.waitForState(loc, 'open').catch(() => undefined);
    const restartedAt = Date.now();
    await cluster.startWorker('resume-b');
    await cluster.waitForEvent(loc, 'session.ready', (e) => new Date(e.occurredAt).getTime() > restartedAt);
    expect(cluster.eventsOf(loc, 'session.qr')).toHaveLength(qrs);
    expect(conflicts(loc)).toBe(0);
  }, 60_000);

  it('sessions are shared fairly: a new worker takes its share through graceful hand-offs', async () => {
    const locations = Array.from({ length: 6 }, (_, i) => `locShare0${i}`);
    for (const [i, loc] of locations.entries()) await cluster.link(loc, `1555000040${i}`);
    await cluster.startWorker('share-b');
    await eventually(
      async () => {
        const rows = await cluster.dataSource.query<{ owner_id: string; n: string }[]>(
          `SELECT owner_id, count(*) AS n FROM session_leases WHERE expires_at > now() GROUP BY owner_id`,
        );
        const counts = rows.map((r) => Number(r.n)).sort();
        // 8 sessions (6 here, locResume01 and locRace001) over 2 workers: within one of the fair share.
        expect(counts).toEqual([4, 4]);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    for (const loc of [...locations, 'locResume01', 'locRace001']) await cluster.waitForState(loc, 'open');
    expect(locations.reduce((n, loc) => n + conflicts(loc), 0)).toBe(0);
    expect(await cluster.doubleConnections()).toBe(0);
  }, 90_000);
});
