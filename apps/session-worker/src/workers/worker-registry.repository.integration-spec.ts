import { createDataSource } from '@app/persistence';
import { eventually } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { DataSource } from 'typeorm';
import { SessionLeaseRepository } from '../lease/session-lease.repository';
import { WorkerRegistry } from './worker-registry.repository';

const STALE_AFTER = 10_000;

describe('WorkerRegistry (real Postgres)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let registry: WorkerRegistry;
  let leases: SessionLeaseRepository;

  beforeAll(async () => {
    db = await createTestDatabase('sw_workers_test');
    dataSource = createDataSource(db.url, { poolSize: 4 });
    await dataSource.initialize();
    await dataSource.runMigrations();
    registry = new WorkerRegistry(dataSource);
    leases = new SessionLeaseRepository(dataSource);
  });

  afterEach(async () => {
    await dataSource.query('DELETE FROM workers');
    await dataSource.query('DELETE FROM session_leases');
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  async function stored(workerId: string) {
    const rows: {
      capacity: number;
      owned_count: number;
      draining: boolean;
      age_ms: number;
      started_ms: number;
    }[] = await dataSource.query(
      `SELECT capacity, owned_count, draining,
                extract(epoch FROM now() - heartbeat_at) * 1000 AS age_ms,
                extract(epoch FROM heartbeat_at - started_at) * 1000 AS started_ms
           FROM workers WHERE worker_id = $1`,
      [workerId],
    );
    return rows[0];
  }

  it('registers on the first heartbeat and refreshes on the next ones', async () => {
    await registry.heartbeat('w-a', { capacity: 500, ownedCount: 0, draining: false });
    expect(await stored('w-a')).toMatchObject({ capacity: 500, owned_count: 0, draining: false });

    await eventually(async () => expect(Number((await stored('w-a')).age_ms)).toBeGreaterThan(0), {
      intervalMs: 10,
    });
    await registry.heartbeat('w-a', { capacity: 400, ownedCount: 3, draining: false });
    const row = await stored('w-a');
    expect(row).toMatchObject({ capacity: 400, owned_count: 3 });
    // heartbeat_at moved on, started_at stayed.
    expect(Number(row.started_ms)).toBeGreaterThan(0);
  });

  it('lists live workers with their live leases counted by the database, not their last report', async () => {
    await registry.heartbeat('w-b', { capacity: 10, ownedCount: 99, draining: false });
    await registry.heartbeat('w-a', { capacity: 20, ownedCount: 0, draining: false });
    await leases.acquire('loc-1', 'w-a', 15_000);
    await leases.acquire('loc-2', 'w-a', 15_000);
    await leases.release((await leases.acquire('loc-3', 'w-a', 15_000))!);
    await leases.acquire('loc-4', 'w-b', 15_000);
    await leases.acquire('loc-5', 'w-unregistered', 15_000);

    expect(await registry.liveWorkers(STALE_AFTER)).toEqual([
      { id: 'w-a', capacity: 20, owned: 2 },
      { id: 'w-b', capacity: 10, owned: 1 },
    ]);
  });

  it('leaves out draining workers, and a heartbeat states the flag afresh', async () => {
    await registry.heartbeat('w-a', { capacity: 5, ownedCount: 0, draining: false });
    await registry.heartbeat('w-b', { capacity: 5, ownedCount: 0, draining: false });
    await registry.markDraining('w-b');
    expect((await registry.liveWorkers(STALE_AFTER)).map((w) => w.id)).toEqual(['w-a']);

    await registry.heartbeat('w-b', { capacity: 5, ownedCount: 0, draining: true });
    expect((await registry.liveWorkers(STALE_AFTER)).map((w) => w.id)).toEqual(['w-a']);
    // A process that restarts under the same id is not draining.
    await registry.heartbeat('w-b', { capacity: 5, ownedCount: 0, draining: false });
    expect((await registry.liveWorkers(STALE_AFTER)).map((w) => w.id)).toEqual(['w-a', 'w-b']);
  });

  it('judges staleness by the database clock', async () => {
    await registry.heartbeat('w-quiet', { capacity: 5, ownedCount: 0, draining: false });
    expect((await registry.liveWorkers(200)).map((w) => w.id)).toEqual(['w-quiet']);
    await eventually(async () => expect(await registry.liveWorkers(200)).toEqual([]), { intervalMs: 25 });
    expect((await registry.liveWorkers(STALE_AFTER)).map((w) => w.id)).toEqual(['w-quiet']);
  });

  it('removes a worker on shutdown, and prunes the rows of workers long silent', async () => {
    await registry.heartbeat('w-a', { capacity: 5, ownedCount: 0, draining: false });
    await registry.heartbeat('w-old', { capacity: 5, ownedCount: 0, draining: false });
    await dataSource.query(
      `UPDATE workers SET heartbeat_at = now() - interval '1 hour' WHERE worker_id = 'w-old'`,
    );

    expect(await registry.removeStale(60_000)).toEqual(['w-old']);
    expect(await registry.removeStale(60_000)).toEqual([]);
    await registry.remove('w-a');
    expect(await registry.liveWorkers(STALE_AFTER)).toEqual([]);
  });

  it('rejects nonsense counts', async () => {
    await expect(registry.heartbeat('w-a', { capacity: -1, ownedCount: 0, draining: false })).rejects.toThrow(
      RangeError,
    );
    await expect(registry.liveWorkers(1.5)).rejects.toThrow(RangeError);
  });
});
