import { createDataSource } from '@app/persistence';
import { eventually } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { DataSource } from 'typeorm';
import type { Lease } from './lease';
import { LeaseKeeper, type LeaseLostReason, type LeaseStore } from './lease-keeper';
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

  function keeperOn(store: LeaseStore, ttlMs: number, renewEveryMs: number): LeaseKeeper {
    const keeper = new LeaseKeeper(store, 'worker-a', { ttlMs, renewEveryMs });
    keepers.push(keeper);
    return keeper;
  }

  it('keeps many leases alive well past their ttl with one statement per interval, so nobody else can take them', async () => {
    const requests: number[] = [];
    const counting: LeaseStore = {
      acquire: (locationId, ownerId, ttlMs) => leases.acquire(locationId, ownerId, ttlMs),
      release: (lease) => leases.release(lease),
      renewAll: (ownerId, holdings, ttlMs) => {
        requests.push(holdings.length);
        return leases.renewAll(ownerId, holdings, ttlMs);
      },
    };
    const keeper = keeperOn(counting, 1_000, 150);
    const lost: LeaseLostReason[] = [];
    const locations = ['loc-kept-1', 'loc-kept-2', 'loc-kept-3'];
    const kept = await Promise.all(locations.map((id) => keeper.acquire(id, (reason) => lost.push(reason))));

    // Ten renewals at 150 ms span 1.5 ttl.
    await eventually(() => expect(requests.length).toBeGreaterThanOrEqual(10), { timeoutMs: 5_000 });
    expect(requests.every((size) => size === 3)).toBe(true);
    expect(lost).toEqual([]);
    expect(kept.every((lease) => lease?.isValid())).toBe(true);
    for (const locationId of locations) {
      expect(await leases.acquire(locationId, 'worker-b', 1_000)).toBeNull();
      expect(await leases.holder(locationId)).toMatchObject({ ownerId: 'worker-a', epoch: 1, live: true });
    }
  });

  it('a row taken away closes exactly that session; the others stay kept', async () => {
    const keeper = keeperOn(leases, 2_000, 100);
    const lost: { locationId: string; code: string }[] = [];
    const onLost = (locationId: string) => (reason: LeaseLostReason) =>
      lost.push({ locationId, code: reason.code });
    const stolen = await keeper.acquire('loc-stolen', onLost('loc-stolen'));
    const other = await keeper.acquire('loc-not-stolen', onLost('loc-not-stolen'));

    // Simulate an operator or a bug moving the lease on: the epoch changes under the keeper.
    await dataSource.query(
      `UPDATE session_leases SET owner_id = 'worker-b', epoch = epoch + 1 WHERE location_id = 'loc-stolen'`,
    );
    await eventually(() => expect(lost).toEqual([{ locationId: 'loc-stolen', code: 'not-held' }]), {
      timeoutMs: 2_000,
    });
    expect(stolen?.isValid()).toBe(false);
    const renewedBefore = (await leases.holder('loc-not-stolen'))!.expiresAt.getTime();
    await eventually(
      async () =>
        expect((await leases.holder('loc-not-stolen'))!.expiresAt.getTime()).toBeGreaterThan(renewedBefore),
      { timeoutMs: 2_000 },
    );
    expect(other?.isValid()).toBe(true);
    expect(lost).toHaveLength(1);
  });

  it('when renewals stop answering, reports the loss of every lease while the database still holds them', async () => {
    let databaseReachable = true;
    const flaky: LeaseStore = {
      acquire: (locationId, ownerId, ttlMs) => leases.acquire(locationId, ownerId, ttlMs),
      release: (lease) => leases.release(lease),
      renewAll: (ownerId, holdings, ttlMs): Promise<Lease[]> =>
        databaseReachable ? leases.renewAll(ownerId, holdings, ttlMs) : new Promise(() => undefined),
    };
    const keeper = keeperOn(flaky, 2_000, 200);
    const outcome: { reason: LeaseLostReason; liveOnServer: Promise<boolean | undefined> }[] = [];
    const onLost = (locationId: string) => (reason: LeaseLostReason) =>
      // Ask the database (a connection the "partition" does not affect) whether the lease is still ours.
      outcome.push({ reason, liveOnServer: leases.holder(locationId).then((holder) => holder?.live) });
    const kept = [
      await keeper.acquire('loc-partitioned-1', onLost('loc-partitioned-1')),
      await keeper.acquire('loc-partitioned-2', onLost('loc-partitioned-2')),
    ];

    databaseReachable = false;
    await eventually(() => expect(outcome).toHaveLength(2), { timeoutMs: 5_000 });
    for (const { reason, liveOnServer } of outcome) {
      expect(reason.code).toBe('unconfirmed');
      expect(await liveOnServer).toBe(true);
    }
    expect(kept.map((lease) => lease?.isValid())).toEqual([false, false]);
  });
});
