import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createDataSource, SecretBox } from '@app/persistence';
import { eventually } from '@app/testing';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { DataSource, QueryRunner } from 'typeorm';
import type { Lease } from '../lease/lease';
import { SessionLeaseRepository } from '../lease/session-lease.repository';
import { AuthStateUnreadableError } from './auth-state-unreadable.error';
import { AuthStateRepository, type AuthStateChange } from './auth-state.repository';
import { FencedWriteError } from './fenced-write.error';

const TTL = 15_000;

describe('AuthStateRepository (real Postgres)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let leases: SessionLeaseRepository;
  let auth: AuthStateRepository;
  const box = new SecretBox({ id: 1, key: randomBytes(32) });
  const openRunners: QueryRunner[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sw_auth_state_test');
    dataSource = createDataSource(db.url, { poolSize: 12 });
    await dataSource.initialize();
    await dataSource.runMigrations();
    leases = new SessionLeaseRepository(dataSource);
    auth = new AuthStateRepository(dataSource, box);
  });

  afterEach(async () => {
    for (const runner of openRunners.splice(0)) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  async function acquire(locationId: string, ownerId: string, ttlMs = TTL): Promise<Lease> {
    const lease = await leases.acquire(locationId, ownerId, ttlMs);
    if (!lease) throw new Error(`${locationId} is held by someone else`);
    return lease;
  }

  /** A transaction the test holds open, to hold row locks while the code under test runs. */
  async function openTransaction(): Promise<QueryRunner> {
    const runner = dataSource.createQueryRunner();
    openRunners.push(runner);
    await runner.connect();
    await runner.startTransaction();
    return runner;
  }

  /** Backends of this test database blocked on a row lock right now. */
  async function lockWaiters(): Promise<number> {
    const rows: { n: number }[] = await dataSource.query(
      `SELECT count(*)::integer AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
      [db.name],
    );
    return rows[0].n;
  }

  async function rawRow(locationId: string, category: string, keyId: string) {
    const rows: { value_enc: Buffer; written_epoch: string }[] = await dataSource.query(
      `SELECT value_enc, written_epoch FROM auth_state WHERE location_id = $1 AND category = $2 AND key_id = $3`,
      [locationId, category, keyId],
    );
    return rows[0];
  }

  const text = (value: Buffer | null | undefined) => value?.toString('utf8');
  const change = (category: string, keyId: string, value: string | null): AuthStateChange => ({
    category,
    keyId,
    value: value === null ? null : Buffer.from(value),
  });

  it('stores creds and keys and reads back exactly what was written; null deletes; the last change wins', async () => {
    const lease = await acquire('loc-rw', 'worker-a');
    expect(await auth.readCreds('loc-rw')).toBeNull();

    await auth.write(lease, [
      AuthStateRepository.credsChange(Buffer.from('{"creds":1}')),
      change('pre-key', '1', 'pk1'),
      change('pre-key', '2', 'pk2'),
      change('pre-key', '3', 'first'),
      change('pre-key', '3', 'second'),
      change('session', '4915550000001.0', 'sess'),
    ]);
    expect(text(await auth.readCreds('loc-rw'))).toBe('{"creds":1}');
    const keys = await auth.readKeys('loc-rw', 'pre-key', ['1', '2', '3', '404', '1']);
    expect(new Map([...keys].map(([id, value]) => [id, text(value)]))).toEqual(
      new Map([
        ['1', 'pk1'],
        ['2', 'pk2'],
        ['3', 'second'],
      ]),
    );
    expect(text((await auth.readKeys('loc-rw', 'session', ['4915550000001.0'])).get('4915550000001.0'))).toBe(
      'sess',
    );
    expect((await auth.readKeys('loc-rw', 'pre-key', [])).size).toBe(0);

    await auth.write(lease, [
      change('pre-key', '1', null),
      change('pre-key', '2', 'pk2-new'),
      change('pre-key', '9', null),
    ]);
    const after = await auth.readKeys('loc-rw', 'pre-key', ['1', '2']);
    expect([...after.keys()]).toEqual(['2']);
    expect(text(after.get('2'))).toBe('pk2-new');
    expect((await rawRow('loc-rw', 'pre-key', '2')).written_epoch).toBe(String(lease.epoch));
  });

  it('keeps values encrypted at rest, bound to their row', async () => {
    const lease = await acquire('loc-enc', 'worker-a');
    const secret = 'noise-key-private-0123456789abcdef';
    await auth.write(lease, [
      change('app-state-sync-key', 'AAAA', secret),
      change('app-state-sync-key', 'BBBB', 'other'),
    ]);

    const stored = (await rawRow('loc-enc', 'app-state-sync-key', 'AAAA')).value_enc;
    expect(stored.includes(Buffer.from(secret))).toBe(false);
    expect(stored.includes(Buffer.from(secret.slice(0, 12)))).toBe(false);
    expect(stored.length).toBeGreaterThan(secret.length);

    // Another process with the same key reads it; a different key cannot.
    expect(text((await auth.readKeys('loc-enc', 'app-state-sync-key', ['AAAA'])).get('AAAA'))).toBe(secret);
    const stranger = new AuthStateRepository(dataSource, new SecretBox({ id: 1, key: randomBytes(32) }));
    await expect(stranger.readKeys('loc-enc', 'app-state-sync-key', ['AAAA'])).rejects.toBeInstanceOf(
      AuthStateUnreadableError,
    );
  });

  it('fails loudly when a stored value was tampered with or moved to another row', async () => {
    const lease = await acquire('loc-tamper', 'worker-a');
    await auth.write(lease, [
      AuthStateRepository.credsChange(Buffer.from('creds-json')),
      change('pre-key', '1', 'one'),
      change('pre-key', '2', 'two'),
    ]);

    // Flip one bit of the creds' ciphertext (it starts after the 30-byte header, IV and tag).
    await dataSource.query(
      `UPDATE auth_state SET value_enc = overlay(value_enc PLACING set_byte('\\x00'::bytea, 0, get_byte(value_enc, 32) # 1) FROM 33 FOR 1)
        WHERE location_id = 'loc-tamper' AND category = 'creds'`,
    );
    const tampered = auth.readCreds('loc-tamper');
    await expect(tampered).rejects.toBeInstanceOf(AuthStateUnreadableError);
    await expect(auth.readCreds('loc-tamper')).rejects.toMatchObject({
      locationId: 'loc-tamper',
      category: 'creds',
      failure: 'authentication-failed',
    });

    // Copy key 1's ciphertext over key 2: valid ciphertext, wrong row.
    await dataSource.query(
      `UPDATE auth_state SET value_enc = (SELECT value_enc FROM auth_state WHERE location_id = 'loc-tamper' AND category = 'pre-key' AND key_id = '1')
        WHERE location_id = 'loc-tamper' AND category = 'pre-key' AND key_id = '2'`,
    );
    await expect(auth.readKeys('loc-tamper', 'pre-key', ['2'])).rejects.toMatchObject({ keyId: '2' });
    expect(text((await auth.readKeys('loc-tamper', 'pre-key', ['1'])).get('1'))).toBe('one');
  });

  it('refuses a write without a lease, by another owner, or with a stale epoch', async () => {
    await expect(
      auth.write({ locationId: 'loc-none', ownerId: 'worker-a', epoch: 1 }, [change('pre-key', '1', 'x')]),
    ).rejects.toMatchObject({
      name: 'FencedWriteError',
      reason: 'no-lease',
      current: null,
    });
    const lease = await acquire('loc-fence', 'worker-a');
    await expect(
      auth.write({ ...lease, ownerId: 'worker-b' }, [change('pre-key', '1', 'x')]),
    ).rejects.toMatchObject({
      reason: 'owner-changed',
    });
    await expect(
      auth.write({ ...lease, epoch: lease.epoch + 1 }, [change('pre-key', '1', 'x')]),
    ).rejects.toMatchObject({
      reason: 'epoch-changed',
      current: { ownerId: 'worker-a', epoch: lease.epoch, live: true },
    });
    expect(await auth.readKeys('loc-fence', 'pre-key', ['1'])).toEqual(new Map());
  });

  it('refuses the zombie: A’s lease expires, B acquires epoch 2, A’s late write fails and B’s data stays', async () => {
    const a = await acquire('loc-zombie', 'worker-a', 300);
    await auth.write(a, [
      AuthStateRepository.credsChange(Buffer.from('creds-of-a')),
      change('pre-key', '1', 'a1'),
    ]);

    // A's lease lapsed by the database clock, nobody took it yet: A is refused already.
    await eventually(async () => expect((await leases.holder('loc-zombie'))?.live).toBe(false), {
      intervalMs: 25,
    });
    await expect(auth.write(a, [change('pre-key', '1', 'a-too-late')])).rejects.toMatchObject({
      reason: 'lease-expired',
    });

    const b = await acquire('loc-zombie', 'worker-b');
    expect(b.epoch).toBe(a.epoch + 1);
    await auth.write(b, [
      AuthStateRepository.credsChange(Buffer.from('creds-of-b')),
      change('pre-key', '1', 'b1'),
    ]);

    const refused = auth.write(a, [
      AuthStateRepository.credsChange(Buffer.from('zombie-creds')),
      change('pre-key', '2', 'a2'),
    ]);
    await expect(refused).rejects.toBeInstanceOf(FencedWriteError);
    await expect(auth.write(a, [change('pre-key', '1', 'x')])).rejects.toMatchObject({
      reason: 'epoch-changed',
      attempted: { locationId: 'loc-zombie', ownerId: 'worker-a', epoch: a.epoch },
      current: { ownerId: 'worker-b', epoch: b.epoch, live: true },
    });
    await expect(auth.clear(a)).rejects.toBeInstanceOf(FencedWriteError);

    expect(text(await auth.readCreds('loc-zombie'))).toBe('creds-of-b');
    expect(text((await auth.readKeys('loc-zombie', 'pre-key', ['1'])).get('1'))).toBe('b1');
    expect((await auth.readKeys('loc-zombie', 'pre-key', ['2'])).size).toBe(0);
    expect((await rawRow('loc-zombie', 'creds', '')).written_epoch).toBe(String(b.epoch));
  });

  it('serialises a write and a takeover: an acquire waits for an in-flight write to commit', async () => {
    const a = await acquire('loc-race-1', 'worker-a', 2_000);
    await auth.write(a, [change('pre-key', '1', 'a1')]);

    // Hold the key row, so A's next write stops inside its transaction, after the lease check.
    const blocker = await openTransaction();
    await blocker.query(
      `SELECT 1 FROM auth_state WHERE location_id = 'loc-race-1' AND key_id = '1' FOR UPDATE`,
    );
    const settled: string[] = [];
    const write = auth.write(a, [change('pre-key', '1', 'a2')]).then(() => settled.push('write'));
    await eventually(async () => expect(await lockWaiters()).toBe(1));

    // The lease lapses while the write is in flight; B's acquire must wait for the write's FOR KEY SHARE lock.
    await eventually(async () => expect((await leases.holder('loc-race-1'))?.live).toBe(false), {
      intervalMs: 25,
    });
    const takeover = leases.acquire('loc-race-1', 'worker-b', TTL).then((lease) => {
      settled.push('acquire');
      return lease;
    });
    await eventually(async () => expect(await lockWaiters()).toBe(2));
    expect(settled).toEqual([]);

    await blocker.commitTransaction();
    await write;
    const b = await takeover;
    expect(settled).toEqual(['write', 'acquire']);
    expect(b).toMatchObject({ ownerId: 'worker-b', epoch: a.epoch + 1 });
    // The write that was checked under A's epoch committed whole, before B's epoch existed.
    expect(text((await auth.readKeys('loc-race-1', 'pre-key', ['1'])).get('1'))).toBe('a2');
    await expect(auth.write(a, [change('pre-key', '1', 'a3')])).rejects.toMatchObject({
      reason: 'epoch-changed',
    });
  });

  it('lets a renewal through while a write is in flight, and the write still commits under its epoch', async () => {
    const a = await acquire('loc-renew-during-write', 'worker-a', 2_000);
    await auth.write(a, [change('pre-key', '1', 'a1')]);
    const blocker = await openTransaction();
    await blocker.query(
      `SELECT 1 FROM auth_state WHERE location_id = 'loc-renew-during-write' AND key_id = '1' FOR UPDATE`,
    );
    const write = auth.write(a, [change('pre-key', '1', 'a2')]);
    await eventually(async () => expect(await lockWaiters()).toBe(1));

    // The write holds the lease row FOR KEY SHARE; renewing (no key column changes) does not wait for it.
    const renewed = await leases.renewAll('worker-a', [a], 10_000);
    expect(renewed).toEqual([
      expect.objectContaining({ locationId: 'loc-renew-during-write', epoch: a.epoch }),
    ]);
    expect(await lockWaiters()).toBe(1);

    await blocker.commitTransaction();
    await write;
    expect(text((await auth.readKeys('loc-renew-during-write', 'pre-key', ['1'])).get('1'))).toBe('a2');
  });

  it('serialises a takeover and a write: a write that meets an in-flight acquire waits, then is refused', async () => {
    const a = await acquire('loc-race-2', 'worker-a', 300);
    await auth.write(a, [change('pre-key', '1', 'a1')]);
    await eventually(async () => expect((await leases.holder('loc-race-2'))?.live).toBe(false), {
      intervalMs: 25,
    });

    // B's acquisition, held uncommitted (the same conditional upsert SessionLeaseRepository.acquire runs).
    const acquirer = await openTransaction();
    const granted: unknown[] = await acquirer.query(
      `INSERT INTO session_leases AS l (location_id, owner_id, epoch, expires_at)
       VALUES ('loc-race-2', 'worker-b', 1, now() + interval '15 seconds')
       ON CONFLICT (location_id) DO UPDATE
          SET owner_id = EXCLUDED.owner_id, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at
        WHERE l.expires_at <= now()
       RETURNING epoch`,
    );
    expect(granted).toHaveLength(1);

    const write = auth.write(a, [change('pre-key', '1', 'zombie')]);
    await eventually(async () => expect(await lockWaiters()).toBe(1));
    await acquirer.commitTransaction();

    // Having waited, the write sees B's committed epoch (not the expired row it would have read unlocked).
    await expect(write).rejects.toMatchObject({
      reason: 'epoch-changed',
      current: { ownerId: 'worker-b', epoch: a.epoch + 1, live: true },
    });
    expect(text((await auth.readKeys('loc-race-2', 'pre-key', ['1'])).get('1'))).toBe('a1');
  });

  it('writes the 812 keys of a first pairing in one batch, well under a second', async () => {
    const lease = await acquire('loc-batch', 'worker-a');
    const changes = Array.from({ length: 812 }, (_, i) => ({
      category: 'pre-key',
      keyId: String(i + 1),
      // About the size of a serialised pre-key pair.
      value: Buffer.from(
        JSON.stringify({
          private: randomBytes(32).toString('base64'),
          public: randomBytes(33).toString('base64'),
        }),
      ),
    }));
    await auth.write(lease, [change('pre-key', 'warm-up', 'x')]); // connection and statement warm-up

    const started = performance.now();
    await auth.write(lease, changes);
    const elapsedMs = performance.now() - started;

    expect(elapsedMs).toBeLessThan(1_000);
    const stored = await auth.readKeys(
      'loc-batch',
      'pre-key',
      changes.map((c) => c.keyId),
    );
    expect(stored.size).toBe(812);
    for (const { keyId, value } of changes) expect(stored.get(keyId)?.equals(value)).toBe(true);

    // Rewriting them all is an update of every row, still one transaction.
    await auth.write(
      lease,
      changes.map((c) => ({ ...c, value: null })),
    );
    expect(
      (
        await auth.readKeys(
          'loc-batch',
          'pre-key',
          changes.map((c) => c.keyId),
        )
      ).size,
    ).toBe(0);
  });

  it('commits concurrent writes of one session in call order, without deadlocks', async () => {
    const lease = await acquire('loc-order', 'worker-a');
    const ids = Array.from({ length: 40 }, (_, i) => String(i));
    await Promise.all(
      Array.from({ length: 10 }, (_, round) =>
        auth.write(
          lease,
          // Alternate the order the caller lists keys in; locks are taken in one order regardless.
          (round % 2 ? [...ids].reverse() : ids).map((id) => change('session', id, `round-${round}`)),
        ),
      ),
    );
    const stored = await auth.readKeys('loc-order', 'session', ids);
    expect(new Set([...stored.values()].map(text))).toEqual(new Set(['round-9']));
  });

  it('clears a location fenced by the lease, and unfenced for uninstall', async () => {
    const a = await acquire('loc-clear', 'worker-a');
    await auth.write(a, [
      AuthStateRepository.credsChange(Buffer.from('c')),
      change('pre-key', '1', 'x'),
      change('pre-key', '2', 'y'),
    ]);
    const other = await acquire('loc-clear-other', 'worker-a');
    await auth.write(other, [change('pre-key', '1', 'keep')]);

    await expect(auth.clear({ ...a, epoch: a.epoch + 1 })).rejects.toBeInstanceOf(FencedWriteError);
    expect(await auth.clear(a)).toBe(3);
    expect(await auth.readCreds('loc-clear')).toBeNull();

    expect(await auth.clearUnfenced('loc-clear-other')).toBe(1);
    expect(await auth.readKeys('loc-clear-other', 'pre-key', ['1'])).toEqual(new Map());
    expect(await auth.clearUnfenced('loc-never-written')).toBe(0);
  });

  it('refuses a category that would make the row binding ambiguous', async () => {
    const lease = await acquire('loc-bad-category', 'worker-a');
    await expect(auth.write(lease, [change('pre:key', '1', 'x')])).rejects.toThrow(RangeError);
  });
});
