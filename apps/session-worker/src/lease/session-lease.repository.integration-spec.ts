import { createDataSource } from '@app/persistence';
import { eventually } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { DataSource } from 'typeorm';
import { SessionLeaseRepository } from './session-lease.repository';

const TTL = 15_000;

describe('SessionLeaseRepository (real Postgres)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let leases: SessionLeaseRepository;

  beforeAll(async () => {
    db = await createTestDatabase('sw_lease_test');
    // Enough connections that 20 acquirers really run at the same time.
    dataSource = createDataSource(db.url, { poolSize: 24 });
    await dataSource.initialize();
    await dataSource.runMigrations();
    leases = new SessionLeaseRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  async function row(locationId: string) {
    const rows: { owner_id: string; epoch: string; ttl_ms: number; renewed_ms: number }[] =
      await dataSource.query(
        `SELECT owner_id, epoch,
              extract(epoch FROM expires_at - acquired_at) * 1000 AS ttl_ms,
              extract(epoch FROM expires_at - renewed_at) * 1000 AS renewed_ms
         FROM session_leases WHERE location_id = $1`,
        [locationId],
      );
    return rows[0];
  }

  it('grants a new lease with epoch 1 and refuses anyone else while it is live', async () => {
    const lease = await leases.acquire('loc-new', 'worker-a', TTL);
    expect(lease).toMatchObject({ locationId: 'loc-new', ownerId: 'worker-a', epoch: 1 });
    expect(lease?.expiresAt).toBeInstanceOf(Date);

    expect(await leases.acquire('loc-new', 'worker-b', TTL)).toBeNull();
    // Not even the same owner id takes over a live lease (two processes sharing an id must not fight).
    expect(await leases.acquire('loc-new', 'worker-a', TTL)).toBeNull();
    expect(await leases.holder('loc-new')).toMatchObject({ ownerId: 'worker-a', epoch: 1, live: true });
    expect(await leases.holder('loc-never-leased')).toBeNull();
  });

  it('sets expiry from the database clock: expires_at = now() + ttl at acquire and at renew', async () => {
    const lease = await leases.acquire('loc-clock', 'worker-a', 7_500);
    expect(Number((await row('loc-clock')).ttl_ms)).toBeCloseTo(7_500, 3);
    const [renewed] = await leases.renewAll('worker-a', [lease!], 9_000);
    expect(Number((await row('loc-clock')).renewed_ms)).toBeCloseTo(9_000, 3);
    expect(renewed.expiresAt.getTime()).toBeGreaterThan(lease!.expiresAt.getTime());
  });

  it('renews, in one statement, exactly the holdings still owned with the same epoch', async () => {
    const a = (await leases.acquire('loc-renew-a', 'worker-a', TTL))!;
    const b = (await leases.acquire('loc-renew-b', 'worker-a', TTL))!;
    const taken = (await leases.acquire('loc-renew-c', 'worker-a', TTL))!;
    await leases.release(taken);
    await leases.acquire('loc-renew-c', 'worker-b', TTL);
    const elsewhere = (await leases.acquire('loc-renew-d', 'worker-b', TTL))!;

    const renewed = await leases.renewAll(
      'worker-a',
      [
        b,
        a,
        taken,
        { locationId: 'loc-renew-d', epoch: elsewhere.epoch },
        { locationId: 'loc-none', epoch: 1 },
      ],
      TTL,
    );
    expect(renewed.map((lease) => [lease.locationId, lease.ownerId, lease.epoch]).sort()).toEqual([
      ['loc-renew-a', 'worker-a', 1],
      ['loc-renew-b', 'worker-a', 1],
    ]);
    expect(await leases.renewAll('worker-a', [{ ...a, epoch: 2 }], TTL)).toEqual([]);
    expect(await leases.renewAll('worker-b', [a], TTL)).toEqual([]);
    expect(await leases.renewAll('worker-a', [], TTL)).toEqual([]);
    expect(await leases.holder('loc-renew-c')).toMatchObject({ ownerId: 'worker-b', epoch: 2 });
  });

  it('release hands over at once, keeps the epoch, and the next acquisition gets epoch + 1', async () => {
    const a = (await leases.acquire('loc-release', 'worker-a', TTL))!;
    expect(await leases.release({ ...a, epoch: 99 })).toBe(false);
    expect(await leases.release(a)).toBe(true);
    expect(await leases.holder('loc-release')).toMatchObject({ ownerId: 'worker-a', epoch: 1, live: false });
    expect(await leases.isHeld(a)).toBe(false);
    expect(await leases.renewAll('worker-a', [a], TTL)).toEqual([]);

    const b = (await leases.acquire('loc-release', 'worker-b', TTL))!;
    expect(b).toMatchObject({ ownerId: 'worker-b', epoch: 2 });
    // The old holding cannot touch the new one.
    expect(await leases.release(a)).toBe(false);
    expect(await leases.renewAll('worker-a', [a], TTL)).toEqual([]);
    expect(await leases.isHeld(b)).toBe(true);

    // Every acquisition moves the epoch, also the same owner taking it back.
    await leases.release(b);
    expect(await leases.acquire('loc-release', 'worker-b', TTL)).toMatchObject({
      ownerId: 'worker-b',
      epoch: 3,
    });
  });

  it('judges expiry by the database clock: after the ttl another owner acquires with epoch + 1', async () => {
    const a = (await leases.acquire('loc-expiry', 'worker-a', 200))!;
    expect(await leases.acquire('loc-expiry', 'worker-b', TTL)).toBeNull();

    const b = await eventually(
      async () => {
        const lease = await leases.acquire('loc-expiry', 'worker-b', TTL);
        if (!lease) throw new Error('lease of worker-a still live');
        return lease;
      },
      { timeoutMs: 5_000, intervalMs: 25 },
    );
    expect(b).toMatchObject({ ownerId: 'worker-b', epoch: a.epoch + 1 });
    expect(await leases.renewAll('worker-a', [a], TTL)).toEqual([]);
    expect(await leases.isHeld(a)).toBe(false);
  });

  it('refuses to renew a lease that expired, even when nobody took it', async () => {
    const a = (await leases.acquire('loc-lapsed', 'worker-a', 100))!;
    await eventually(async () => expect((await leases.holder('loc-lapsed'))?.live).toBe(false), {
      intervalMs: 20,
    });
    expect(await leases.renewAll('worker-a', [a], TTL)).toEqual([]);
    expect(await leases.acquire('loc-lapsed', 'worker-a', TTL)).toMatchObject({ epoch: 2 });
  });

  it('isHeld can demand time left, so a socket is not opened on a lease about to lapse', async () => {
    const lease = (await leases.acquire('loc-held', 'worker-a', 3_000))!;
    expect(await leases.isHeld(lease)).toBe(true);
    expect(await leases.isHeld(lease, 1_000)).toBe(true);
    expect(await leases.isHeld(lease, 10_000)).toBe(false);
    expect(await leases.isHeld({ ...lease, epoch: lease.epoch + 1 })).toBe(false);
  });

  it.each([
    ['a location never leased', false],
    ['an expired lease', true],
  ])('lets exactly one of 20 concurrent acquirers win %s', async (_label, expiredFirst) => {
    const locationId = expiredFirst ? 'loc-race-expired' : 'loc-race-new';
    if (expiredFirst) {
      const first = (await leases.acquire(locationId, 'worker-old', TTL))!;
      await leases.release(first);
    }
    const owners = Array.from({ length: 20 }, (_, i) => `worker-${i}`);
    const results = await Promise.all(owners.map((owner) => leases.acquire(locationId, owner, TTL)));

    const winners = results.filter((lease) => lease !== null);
    expect(winners).toHaveLength(1);
    const expectedEpoch = expiredFirst ? 2 : 1;
    expect(winners[0]).toMatchObject({ epoch: expectedEpoch });
    expect(await leases.holder(locationId)).toMatchObject({
      ownerId: winners[0].ownerId,
      epoch: expectedEpoch,
      live: true,
    });
  });

  it('lists and releases everything a worker owns, for shutdown', async () => {
    for (const locationId of ['loc-own-1', 'loc-own-2', 'loc-own-3'])
      await leases.acquire(locationId, 'worker-own', TTL);
    const released = (await leases.acquire('loc-own-4', 'worker-own', TTL))!;
    await leases.release(released);
    await leases.acquire('loc-own-other', 'worker-else', TTL);

    const owned = await leases.listOwnedBy('worker-own');
    expect(owned.map((lease) => lease.locationId)).toEqual(['loc-own-1', 'loc-own-2', 'loc-own-3']);
    expect(owned.every((lease) => lease.ownerId === 'worker-own' && lease.epoch === 1)).toBe(true);

    expect(await leases.releaseAllOwnedBy('worker-own')).toEqual(['loc-own-1', 'loc-own-2', 'loc-own-3']);
    expect(await leases.listOwnedBy('worker-own')).toEqual([]);
    expect(await leases.holder('loc-own-other')).toMatchObject({ live: true });
    expect(await leases.acquire('loc-own-1', 'worker-next', TTL)).toMatchObject({ epoch: 2 });
  });

  it('finds claimable sessions: running, with no live lease; the caller’s former ones first', async () => {
    const sessions: [string, 'running' | 'stopped'][] = [
      ['cl-running-unleased', 'running'],
      ['cl-running-live', 'running'],
      ['cl-running-expired-other', 'running'],
      ['cl-running-expired-mine', 'running'],
      ['cl-stopped-unleased', 'stopped'],
    ];
    for (const [locationId, desired] of sessions) {
      await dataSource.query(`INSERT INTO sessions (location_id, desired_state) VALUES ($1, $2)`, [
        locationId,
        desired,
      ]);
    }
    await leases.acquire('cl-running-live', 'worker-x', TTL);
    await leases.release((await leases.acquire('cl-running-expired-other', 'worker-x', TTL))!);
    await leases.release((await leases.acquire('cl-running-expired-mine', 'worker-me', TTL))!);

    const all = await leases.claimable(100, 'worker-me');
    expect(all.filter((id) => id.startsWith('cl-'))).toEqual([
      'cl-running-expired-mine',
      'cl-running-unleased',
      'cl-running-expired-other',
    ]);
    expect(await leases.countClaimable()).toBe(3);
    expect(await leases.claimable(1, 'worker-me')).toEqual(['cl-running-expired-mine']);
    expect(await leases.claimable(0, 'worker-me')).toEqual([]);

    await leases.acquire('cl-running-unleased', 'worker-me', TTL);
    expect(await leases.claimable(100, 'worker-other')).toEqual([
      'cl-running-expired-other',
      'cl-running-expired-mine',
    ]);
  });

  it('says how long until the next lease of another worker on a running session expires', async () => {
    const ids = ['nx-running-other-short', 'nx-running-other-long', 'nx-running-mine', 'nx-stopped-other'];
    for (const locationId of ids) {
      await dataSource.query(`INSERT INTO sessions (location_id, desired_state) VALUES ($1, $2)`, [
        locationId,
        locationId.includes('stopped') ? 'stopped' : 'running',
      ]);
    }
    await leases.acquire('nx-running-other-long', 'nx-worker-other', 60_000);
    await leases.acquire('nx-running-other-short', 'nx-worker-other', 4_000);
    // Shorter, but not what the caller could claim: its own lease, and a session that should not run.
    await leases.acquire('nx-running-mine', 'nx-worker-me', 1_000);
    await leases.acquire('nx-stopped-other', 'nx-worker-other', 1_000);

    // (Other tests' leases in this database run 15 s or more.)
    const ms = await leases.msUntilNextExpiry('nx-worker-me');
    expect(ms).toBeGreaterThan(3_000);
    expect(ms).toBeLessThanOrEqual(4_000);
  });

  it('rejects a ttl that is not a positive whole number of milliseconds', async () => {
    await expect(leases.acquire('loc-bad', 'worker-a', 0)).rejects.toThrow(RangeError);
    await expect(leases.acquire('loc-bad', 'worker-a', 1.5)).rejects.toThrow(RangeError);
  });
});
