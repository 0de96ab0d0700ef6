import { eventually } from '@app/testing';
import { WorkerCluster } from '@app/testing/worker-cluster';

/**
 * A zombie owner: paused (SIGSTOP) past its lease TTL while another worker takes the session over,
 * then resumed. Its lease keeper notices on the local clock that no renewal was confirmed in time and
 * closes its socket; any credential write it still attempts is refused by the epoch fence; the
 * sandbox never sees two connections of the device at once.
 */
describe('session worker: a paused owner comes back as a zombie', () => {
  let cluster: WorkerCluster;

  beforeAll(async () => {
    // Like WhatsApp, the sandbox drops a client that stops pinging; the paused worker's socket is
    // dropped before its lease can expire (keep-alive 1 s < idle timeout 2 s < lease TTL 3 s).
    cluster = await WorkerCluster.start({ WA_SANDBOX_CLIENT_IDLE_TIMEOUT_MS: '2000' });
    await cluster.startWorker('zombie-a', { WA_KEEPALIVE_MS: '1000' });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('is taken over, closes its own socket when resumed, and cannot write credentials', async () => {
    const loc = 'locZombie01';
    await cluster.link(loc, '15550000601');
    const zombie = cluster.workers.get('zombie-a')!;
    await cluster.startWorker('zombie-b', { WA_KEEPALIVE_MS: '1000' });
    const epochBefore = Number((await cluster.sessionRow(loc)).state_epoch);

    const pausedAt = Date.now();
    zombie.signal('SIGSTOP');
    const ready = await cluster.waitForEvent(
      loc,
      'session.ready',
      (e) => e.payload.workerId === 'zombie-b' && new Date(e.occurredAt).getTime() > pausedAt,
      20_000,
    );
    expect(ready.payload.phone).toBe('+15550000601');
    const takenOver = await cluster.waitForState(loc, 'open');
    expect(Number(takenOver.state_epoch)).toBeGreaterThan(epochBefore);
    expect(takenOver.owner_worker_id).toBe('zombie-b');

    zombie.signal('SIGCONT');
    await zombie.waitForLog(
      (l) => l.msg === 'session stopped on this worker' && l.locationId === loc,
      15_000,
    );
    expect(
      zombie.hasLog(
        (l) =>
          l.locationId === loc &&
          (l.msg === 'lease lost: closing the socket before anyone else can open one' ||
            l.msg === 'auth write fenced: another worker owns this session now' ||
            l.msg === 'WhatsApp connection closed'),
      ),
    ).toBe(true);

    // The new owner's session is untouched: still open, still its epoch, and every credential row
    // was last written under an epoch the zombie never held.
    await eventually(async () => {
      const row = await cluster.sessionRow(loc);
      expect(row).toMatchObject({ state: 'open', owner_worker_id: 'zombie-b' });
    });
    const writes = await cluster.dataSource.query<{ max: string }[]>(
      `SELECT max(written_epoch) AS max FROM auth_state WHERE location_id = $1`,
      [loc],
    );
    expect(Number(writes[0].max)).toBe(Number(takenOver.state_epoch));
    const stats = await cluster.sandbox.admin.stats();
    expect(stats.doubleConnections).toBe(0);
    expect(stats.idleDisconnects).toBeGreaterThanOrEqual(1);
    expect(cluster.eventsOf(loc, 'session.disconnected').filter((e) => e.payload.code === 440)).toHaveLength(
      0,
    );
  }, 90_000);
});
