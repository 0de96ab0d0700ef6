import { createDataSource } from '@app/persistence';
import { eventually } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { DataSource } from 'typeorm';
import type { Lease, LeaseRef } from './lease';
import { LeaseKeeper, type LeaseLostReason } from './lease-keeper';
import { SessionLeaseRepository } from './session-lease.repository';

describe('LeaseKeeper with the real repository and clock', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let leases: SessionLeaseRepository;
  const keepers: LeaseKeeper[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sw_lease_keeper_test');
    dataSource = createDataSource(db.url, { poolSize: 4 });
    await dataSource.initialize();
    await dataSource.runMigrations();
    leases = new SessionLeaseRepository(dataSource);
  });

  afterEach(() => {
    for (const keeper of keepers.splice(0)) keeper.stop();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('keeps a lease alive well past its ttl, so nobody else can take it', async () => {
    let renewals = 0;
    const counting = {
      acquire: (locationId: string, ownerId: string, ttlMs: number) =>
        leases.acquire(locationId, ownerId, ttlMs),
      renew: (lease: LeaseRef, ttlMs: number) => {
        renewals++;
        return leases.renew(lease, ttlMs);
      },
    };
    const lost: LeaseLostReason[] = [];
    const keeper = await LeaseKeeper.acquire(counting, 'loc-kept', 'worker-a', {
      ttlMs: 1_000,
      renewEveryMs: 150,
      onLost: (reason) => lost.push(reason),
    });
    keepers.push(keeper!);

    // Ten renewals at 150 ms span 1.5 ttl.
    await eventually(() => expect(renewals).toBeGreaterThanOrEqual(10), { timeoutMs: 5_000 });
    expect(lost).toEqual([]);
    expect(keeper!.isValid()).toBe(true);
    expect(await leases.acquire('loc-kept', 'worker-b', 1_000)).toBeNull();
    expect(await leases.holder('loc-kept')).toMatchObject({
      ownerId: 'worker-a',
      epoch: keeper!.epoch,
      live: true,
    });
  });

  it('when renewals stop answering, reports the loss while the database still holds the lease', async () => {
    let databaseReachable = true;
    const flaky = {
      acquire: (locationId: string, ownerId: string, ttlMs: number) =>
        leases.acquire(locationId, ownerId, ttlMs),
      renew: (lease: LeaseRef, ttlMs: number): Promise<Lease | null> =>
        databaseReachable ? leases.renew(lease, ttlMs) : new Promise(() => undefined),
    };
    const outcome: { reason: LeaseLostReason; liveOnServer: Promise<boolean | undefined> }[] = [];
    const keeper = await LeaseKeeper.acquire(flaky, 'loc-partitioned', 'worker-a', {
      ttlMs: 2_000,
      renewEveryMs: 200,
      onLost: (reason) =>
        // Ask the database (a connection the "partition" does not affect) whether the lease is still ours.
        outcome.push({
          reason,
          liveOnServer: leases.holder('loc-partitioned').then((holder) => holder?.live),
        }),
    });
    keepers.push(keeper!);
    databaseReachable = false;

    await eventually(() => expect(outcome).toHaveLength(1), { timeoutMs: 5_000 });
    expect(outcome[0].reason.code).toBe('unconfirmed');
    expect(await outcome[0].liveOnServer).toBe(true);
    expect(keeper!.isValid()).toBe(false);
  });

  it('reports the loss at once when another worker holds the lease', async () => {
    const lost: LeaseLostReason[] = [];
    const keeper = await LeaseKeeper.acquire(leases, 'loc-stolen', 'worker-a', {
      ttlMs: 2_000,
      renewEveryMs: 100,
      onLost: (reason) => lost.push(reason),
    });
    keepers.push(keeper!);
    // Simulate an operator or a bug moving the lease on: the epoch changes under the keeper.
    await dataSource.query(
      `UPDATE session_leases SET owner_id = 'worker-b', epoch = epoch + 1 WHERE location_id = 'loc-stolen'`,
    );

    await eventually(() => expect(lost.map((reason) => reason.code)).toEqual(['not-held']), {
      timeoutMs: 2_000,
    });
  });
});
