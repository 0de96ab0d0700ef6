import { Injectable } from '@nestjs/common';
import { KeyedMutex } from '@app/core/keyed-mutex';
import { AUTH_CREDS_CATEGORY, SecretBox, SecretBoxError, sealingContext } from '@app/persistence';
import { DataSource, type QueryRunner } from 'typeorm';
import { parseEpoch, type LeaseRef } from '../lease/lease';
import { AuthStateUnreadableError } from './auth-state-unreadable.error';
import { FencedWriteError, type FencedWriteReason } from './fenced-write.error';

/** One auth value to store (`value`) or delete (`null`). Values are opaque bytes, serialised by the caller. */
export interface AuthStateChange {
  readonly category: string;
  readonly keyId: string;
  readonly value: Buffer | null;
}

/** Rows per INSERT: bounds one statement's size while a first pairing (812 pre-keys) takes two. */
const UPSERT_CHUNK_ROWS = 500;

/**
 * The upsert's conflict rule (the table is aliased `a`): a row takes the new value unless a newer
 * epoch wrote it. With the lease check it cannot refuse a row; it is a second fence all the same.
 */
const UNLESS_NEWER_EPOCH = `ON CONFLICT (location_id, category, key_id) DO UPDATE
            SET value_enc = EXCLUDED.value_enc,
                written_epoch = EXCLUDED.written_epoch,
                updated_at = EXCLUDED.updated_at
          WHERE a.written_epoch <= EXCLUDED.written_epoch`;

interface SealedRow {
  category: string;
  keyId: string;
  sealed: Buffer;
}

/**
 * Baileys auth state (creds and Signal keys) in Postgres, encrypted at rest and written only by the
 * holder of the session's lease.
 *
 * Every write is one transaction (usually one statement) that first locks the lease row `FOR KEY SHARE` and checks that the
 * writer's owner and epoch are the current, live ones. `(location_id, epoch)` is a key of the lease
 * table, so the lock conflicts with the row lock an acquire takes (it changes the epoch), and a write and
 * a takeover are serialised: either the write commits before the new owner's epoch exists, or it sees
 * that epoch and is refused. A paused or partitioned worker can therefore never overwrite what the next
 * owner wrote. Renewals change no key column, so they never wait for a write (a burst of pairings
 * writing thousands of keys cannot hold up the renewal of every other lease).
 *
 * Each value is sealed with AES-256-GCM and an AAD naming its row (`auth:<location>:<category>:<keyId>`),
 * so a ciphertext moved to another row or tenant fails to open. Values are never logged.
 */
@Injectable()
export class AuthStateRepository {
  /** Per location: one worker's writes for a session commit in call order. */
  private readonly writesByLocation = new KeyedMutex();

  constructor(
    private readonly dataSource: DataSource,
    private readonly secretBox: SecretBox,
  ) {}

  /** The change that stores Baileys' creds (category `creds`, key id ''). */
  static credsChange(value: Buffer | null): AuthStateChange {
    return { category: AUTH_CREDS_CATEGORY, keyId: '', value };
  }

  async readCreds(locationId: string): Promise<Buffer | null> {
    const found = await this.readKeys(locationId, AUTH_CREDS_CATEGORY, ['']);
    return found.get('') ?? null;
  }

  /** The stored values among `ids`; absent ids are missing from the map. Throws if any value is unreadable. */
  async readKeys(locationId: string, category: string, ids: readonly string[]): Promise<Map<string, Buffer>> {
    const result = new Map<string, Buffer>();
    if (ids.length === 0) return result;
    const rows: { key_id: string; value_enc: Buffer }[] = await this.dataSource.query(
      `SELECT key_id, value_enc FROM auth_state
        WHERE location_id = $1 AND category = $2 AND key_id = ANY($3::text[])`,
      [locationId, category, [...new Set(ids)]],
    );
    for (const row of rows) {
      result.set(row.key_id, this.open(locationId, category, row.key_id, row.value_enc));
    }
    return result;
  }

  /**
   * Applies `changes` (null value = delete) in one fenced transaction; the last change to a key wins.
   * Throws `FencedWriteError`, and writes nothing, unless `lease` is the current, live holding.
   */
  async write(lease: LeaseRef, changes: readonly AuthStateChange[]): Promise<void> {
    if (changes.length === 0) return;
    // Deduplicate (one INSERT cannot touch a row twice) and sort, so concurrent transactions lock rows
    // in the same order. The category may not contain ':', so the joined key is unambiguous.
    const latest = new Map<string, AuthStateChange>();
    for (const change of changes) latest.set(`${change.category}:${change.keyId}`, change);
    const ordered = [...latest.values()].sort(
      (a, b) => compare(a.category, b.category) || compare(a.keyId, b.keyId),
    );

    // Seal before the transaction: it keeps the lease row locked for the database work only.
    const upserts: SealedRow[] = [];
    const deletes: { category: string; keyId: string }[] = [];
    for (const { category, keyId, value } of ordered) {
      const aad = sealingContext.authState(lease.locationId, category, keyId);
      if (value === null) deletes.push({ category, keyId });
      else upserts.push({ category, keyId, sealed: this.secretBox.seal(value, aad) });
    }

    if (upserts.length <= UPSERT_CHUNK_ROWS) {
      await this.writesByLocation.run(lease.locationId, () =>
        this.writeInOneStatement(lease, upserts, deletes),
      );
      return;
    }
    await this.writesByLocation.run(lease.locationId, () =>
      this.fenced(lease, async (runner) => {
        if (deletes.length > 0) {
          await runner.query(
            `DELETE FROM auth_state a
               USING unnest($2::text[], $3::text[]) AS d(category, key_id)
              WHERE a.location_id = $1 AND a.category = d.category AND a.key_id = d.key_id`,
            [lease.locationId, deletes.map((d) => d.category), deletes.map((d) => d.keyId)],
          );
        }
        for (let start = 0; start < upserts.length; start += UPSERT_CHUNK_ROWS) {
          const chunk = upserts.slice(start, start + UPSERT_CHUNK_ROWS);
          // The epoch condition is a second fence, for a row some newer owner wrote; with the lease
          // check above it cannot trigger, and if it ever did the whole write is refused, not half-done.
          const { affected } = await runner.query(
            `INSERT INTO auth_state AS a (location_id, category, key_id, value_enc, written_epoch, updated_at)
             SELECT $1, u.category, u.key_id, u.value_enc, $2, now()
               FROM unnest($3::text[], $4::text[], $5::bytea[]) AS u(category, key_id, value_enc)
             ${UNLESS_NEWER_EPOCH}`,
            [
              lease.locationId,
              lease.epoch,
              chunk.map((row) => row.category),
              chunk.map((row) => row.keyId),
              chunk.map((row) => row.sealed),
            ],
            true,
          );
          if (affected !== chunk.length) throw new FencedWriteError('newer-write', pick(lease), null);
        }
      }),
    );
  }

  /** Deletes all auth state of the location (logout, 401), fenced like `write`. Returns the rows deleted. */
  async clear(lease: LeaseRef): Promise<number> {
    return this.writesByLocation.run(lease.locationId, () =>
      this.fenced(lease, async (runner) => {
        const result = await runner.query(
          `DELETE FROM auth_state WHERE location_id = $1`,
          [lease.locationId],
          true,
        );
        return result.affected ?? 0;
      }),
    );
  }

  /**
   * Deletes all auth state of the location WITHOUT a lease check: only for uninstall, when the app is
   * gone from the location and its credentials must go whoever holds the session. A worker that still
   * holds the lease could write keys again afterwards, so stop the session first.
   */
  async clearUnfenced(locationId: string): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(`DELETE FROM auth_state WHERE location_id = $1`, [locationId], true);
      return result.affected ?? 0;
    } finally {
      await runner.release();
    }
  }

  private open(locationId: string, category: string, keyId: string, sealed: Buffer): Buffer {
    try {
      return this.secretBox.open(sealed, sealingContext.authState(locationId, category, keyId));
    } catch (error) {
      if (error instanceof SecretBoxError) {
        throw new AuthStateUnreadableError(locationId, category, keyId, error.failure, { cause: error });
      }
      throw error;
    }
  }

  /**
   * The write of `write` as ONE statement (one round trip instead of four: a session's every received
   * message commits Signal keys, and at 100 messages/s a worker spent a quarter of its CPU on the
   * BEGIN / lock / upsert / COMMIT exchanges). The lease row is locked `FOR KEY SHARE` by the first CTE
   * before any row changes, and nothing changes unless the holding checks out, exactly as in `fenced`.
   * The one difference: a row already written by a NEWER epoch is skipped and reported
   * (`newer-write`) after the other rows committed. That cannot happen while the holding checks out
   * (epochs only grow, and only the holder of the current epoch writes), so it is kept as a tripwire.
   */
  private async writeInOneStatement(
    lease: LeaseRef,
    upserts: readonly SealedRow[],
    deletes: readonly { category: string; keyId: string }[],
  ): Promise<void> {
    const rows: {
      owner_id: string | null;
      epoch: string | null;
      live: boolean | null;
      upserted: string;
    }[] = await this.dataSource.query(
      `WITH lease AS (
         SELECT owner_id, epoch, expires_at > now() AS live
           FROM session_leases WHERE location_id = $1 FOR KEY SHARE
       ), allowed AS (
         SELECT 1 FROM lease WHERE owner_id = $2 AND epoch = $3 AND live
       ), deleted AS (  -- runs although nothing reads it, as every data-modifying WITH does
         DELETE FROM auth_state a
          USING unnest($4::text[], $5::text[]) AS d(category, key_id)
          WHERE EXISTS (SELECT 1 FROM allowed)
            AND a.location_id = $1 AND a.category = d.category AND a.key_id = d.key_id
       ), upserted AS (
         INSERT INTO auth_state AS a (location_id, category, key_id, value_enc, written_epoch, updated_at)
         SELECT $1, u.category, u.key_id, u.value_enc, $3, now()
           FROM unnest($6::text[], $7::text[], $8::bytea[]) AS u(category, key_id, value_enc)
          WHERE EXISTS (SELECT 1 FROM allowed)
         ${UNLESS_NEWER_EPOCH}
         RETURNING 1
       )
       SELECT l.owner_id, l.epoch, l.live,
              (SELECT count(*) FROM upserted) AS upserted
         FROM (SELECT 1) AS one LEFT JOIN lease l ON true`,
      [
        lease.locationId,
        lease.ownerId,
        lease.epoch,
        deletes.map((d) => d.category),
        deletes.map((d) => d.keyId),
        upserts.map((row) => row.category),
        upserts.map((row) => row.keyId),
        upserts.map((row) => row.sealed),
      ],
    );
    const row = rows[0];
    const current =
      row?.owner_id != null
        ? { ownerId: row.owner_id, epoch: parseEpoch(row.epoch ?? '0'), live: !!row.live }
        : null;
    const refusal = fenceRefusal(lease, current);
    if (refusal) throw new FencedWriteError(refusal, pick(lease), current);
    if (Number(row.upserted) !== upserts.length)
      throw new FencedWriteError('newer-write', pick(lease), current);
  }

  /** Runs `work` in a transaction that holds the lease row `FOR KEY SHARE` after checking the holding. */
  private async fenced<T>(lease: LeaseRef, work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction('READ COMMITTED');
      try {
        const { records } = await runner.query(
          `SELECT owner_id, epoch, expires_at > now() AS live
             FROM session_leases WHERE location_id = $1 FOR KEY SHARE`,
          [lease.locationId],
          true,
        );
        const row = (records as { owner_id: string; epoch: string; live: boolean }[])[0];
        const current = row ? { ownerId: row.owner_id, epoch: parseEpoch(row.epoch), live: row.live } : null;
        const refusal = fenceRefusal(lease, current);
        if (refusal) throw new FencedWriteError(refusal, pick(lease), current);

        const result = await work(runner);
        await runner.commitTransaction();
        return result;
      } catch (error) {
        // A broken connection cannot roll back; the server discards the transaction anyway.
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }
}

function fenceRefusal(
  lease: LeaseRef,
  current: { ownerId: string; epoch: number; live: boolean } | null,
): FencedWriteReason | null {
  if (current === null) return 'no-lease';
  if (current.epoch !== lease.epoch) return 'epoch-changed';
  if (current.ownerId !== lease.ownerId) return 'owner-changed';
  if (!current.live) return 'lease-expired';
  return null;
}

/** Only the identifying fields go into errors, whatever else the caller's lease object carries. */
function pick(lease: LeaseRef): LeaseRef {
  return { locationId: lease.locationId, ownerId: lease.ownerId, epoch: lease.epoch };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
