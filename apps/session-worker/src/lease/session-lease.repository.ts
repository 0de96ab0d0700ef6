import { Injectable } from '@nestjs/common';
import { DataSource, type QueryResult } from 'typeorm';
import { parseEpoch, type Lease, type LeaseHolder, type LeaseRef } from './lease';

interface LeaseRow {
  location_id: string;
  owner_id: string;
  epoch: string;
  expires_at: Date;
}

const LEASE_COLUMNS = 'location_id, owner_id, epoch, expires_at';

function toLease(row: LeaseRow): Lease {
  return {
    locationId: row.location_id,
    ownerId: row.owner_id,
    epoch: parseEpoch(row.epoch),
    expiresAt: row.expires_at,
  };
}

function assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1)
    throw new RangeError(`lease ttl must be a positive integer, got ${ttlMs}`);
}

/**
 * Session leases: which worker may hold a location's WhatsApp socket, and the fencing epoch its writes
 * carry.
 *
 * Every statement is a single conditional statement judged by the database's `now()`, so clock skew
 * between pods can never make two workers believe they both hold a lease. Rows are never deleted:
 * release only moves `expires_at` back, keeping `epoch`, so the next owner's epoch is always higher
 * than any epoch that ever wrote state for the location.
 */
@Injectable()
export class SessionLeaseRepository {
  /**
   * @param renewals the pool `renewAll` runs on; by default the same as everything else. The worker
   *   gives it a small pool of its own (see `SessionWorkerModule`).
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly renewals: DataSource = dataSource,
  ) {}

  /**
   * Takes the lease if nobody holds a live one. The epoch becomes the previous epoch + 1 (1 for a new
   * row) on every acquisition, also when the same owner takes it back after expiry.
   *
   * A live lease is never taken over, not even by its own owner id: two processes that share an id by
   * mistake must not steal a session from each other on every placement round; a restarted process with
   * the same id waits out the TTL like any other worker. Null: someone holds a live lease.
   *
   * Concurrent acquirers are safe: `ON CONFLICT DO UPDATE` locks the row and evaluates the `WHERE`
   * against its newest committed version, so exactly one of them can move an expired lease on.
   */
  async acquire(locationId: string, ownerId: string, ttlMs: number): Promise<Lease | null> {
    assertTtl(ttlMs);
    const { records } = await this.run<LeaseRow>(
      `INSERT INTO session_leases AS l (location_id, owner_id, epoch, expires_at, acquired_at, renewed_at)
       VALUES ($1, $2, 1, now() + $3::integer * interval '1 millisecond', now(), now())
       ON CONFLICT (location_id) DO UPDATE
          SET owner_id = EXCLUDED.owner_id,
              epoch = l.epoch + 1,
              expires_at = EXCLUDED.expires_at,
              acquired_at = now(),
              renewed_at = now()
        WHERE l.expires_at <= now()
       RETURNING ${LEASE_COLUMNS}`,
      [locationId, ownerId, ttlMs],
    );
    return records[0] ? toLease(records[0]) : null;
  }

  /**
   * Renews every given holding of `ownerId` in one statement: each row still owned by `ownerId` with
   * the same epoch and not expired by the database clock gets `expires_at = now() + ttl`. Returns the
   * renewed leases; a holding missing from the result is lost and must not be used any more.
   *
   * One statement per worker and renewal interval, whatever the number of sessions, and on its own
   * connection pool: renewals must not queue behind the credential writes of a burst of pairings.
   * Rows are named in location order, so two overlapping renewals lock them in the same order.
   */
  async renewAll(
    ownerId: string,
    holdings: readonly Omit<LeaseRef, 'ownerId'>[],
    ttlMs: number,
  ): Promise<Lease[]> {
    assertTtl(ttlMs);
    if (holdings.length === 0) return [];
    const sorted = [...holdings].sort((a, b) =>
      a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0,
    );
    const { records } = await this.run<LeaseRow>(
      `UPDATE session_leases AS l
          SET expires_at = now() + $4::integer * interval '1 millisecond', renewed_at = now()
         FROM unnest($2::text[], $3::bigint[]) AS h(location_id, epoch)
        WHERE l.location_id = h.location_id AND l.epoch = h.epoch
          AND l.owner_id = $1 AND l.expires_at > now()
       RETURNING l.location_id, l.owner_id, l.epoch, l.expires_at`,
      [ownerId, sorted.map((h) => h.locationId), sorted.map((h) => String(h.epoch)), ttlMs],
      this.renewals,
    );
    return records.map(toLease);
  }

  /**
   * Ends this holding now so another worker can take over at once, keeping owner and epoch so the next
   * acquisition gets a higher epoch. False: the lease had moved on already (nothing was changed).
   */
  async release(lease: LeaseRef): Promise<boolean> {
    // LEAST: releasing an already expired lease must not move its expiry forward.
    const { affected } = await this.run(
      `UPDATE session_leases SET expires_at = LEAST(expires_at, now())
        WHERE location_id = $1 AND owner_id = $2 AND epoch = $3`,
      [lease.locationId, lease.ownerId, lease.epoch],
    );
    return (affected ?? 0) > 0;
  }

  /**
   * The re-check right before opening a socket: true only if this holding is still live by the database
   * clock, with at least `minRemainingMs` left (so a socket is not opened on a lease about to lapse).
   */
  async isHeld(lease: LeaseRef, minRemainingMs = 0): Promise<boolean> {
    const { records } = await this.run<{ held: boolean }>(
      `SELECT expires_at > now() + $4::integer * interval '1 millisecond' AS held
         FROM session_leases
        WHERE location_id = $1 AND owner_id = $2 AND epoch = $3`,
      [lease.locationId, lease.ownerId, lease.epoch, Math.max(0, Math.ceil(minRemainingMs))],
    );
    return records[0]?.held === true;
  }

  /** Who holds (or last held) a location's lease; null if it was never leased. */
  async holder(locationId: string): Promise<LeaseHolder | null> {
    const { records } = await this.run<LeaseRow & { live: boolean }>(
      `SELECT ${LEASE_COLUMNS}, expires_at > now() AS live FROM session_leases WHERE location_id = $1`,
      [locationId],
    );
    const row = records[0];
    if (!row) return null;
    return { ownerId: row.owner_id, epoch: parseEpoch(row.epoch), expiresAt: row.expires_at, live: row.live };
  }

  /** The live leases of one worker, by location id. */
  async listOwnedBy(ownerId: string): Promise<Lease[]> {
    const { records } = await this.run<LeaseRow>(
      `SELECT ${LEASE_COLUMNS} FROM session_leases
        WHERE owner_id = $1 AND expires_at > now()
        ORDER BY location_id`,
      [ownerId],
    );
    return records.map(toLease);
  }

  /**
   * Shutdown: ends every live lease of this worker (after its sockets are closed) so other workers take
   * over at once instead of after the TTL. Returns the released location ids.
   */
  async releaseAllOwnedBy(ownerId: string): Promise<string[]> {
    const { records } = await this.run<{ location_id: string }>(
      `UPDATE session_leases SET expires_at = now()
        WHERE owner_id = $1 AND expires_at > now()
       RETURNING location_id`,
      [ownerId],
    );
    return records.map((row) => row.location_id).sort();
  }

  /**
   * Sessions that should run and have no live lease: work for the placement loop. The ones this worker
   * held last come first (it can pick up where it left off), then the ones waiting longest.
   */
  async claimable(limit: number, ownerId: string): Promise<string[]> {
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    const { records } = await this.run<{ location_id: string }>(
      `SELECT s.location_id
         FROM sessions s
         LEFT JOIN session_leases l ON l.location_id = s.location_id
        WHERE s.desired_state = 'running'
          AND (l.location_id IS NULL OR l.expires_at <= now())
        ORDER BY (l.owner_id IS NOT DISTINCT FROM $2) DESC, l.expires_at ASC NULLS FIRST, s.location_id
        LIMIT $1`,
      [limit, ownerId],
    );
    return records.map((row) => row.location_id);
  }

  /** How many sessions `claimable` could return without a limit; fair shares need the whole count. */
  async countClaimable(): Promise<number> {
    const { records } = await this.run<{ n: number }>(
      `SELECT count(*)::integer AS n
         FROM sessions s
         LEFT JOIN session_leases l ON l.location_id = s.location_id
        WHERE s.desired_state = 'running'
          AND (l.location_id IS NULL OR l.expires_at <= now())`,
      [],
    );
    return records[0]?.n ?? 0;
  }

  /**
   * Milliseconds (by the database clock) until the first live lease of a running session held by
   * another worker expires; null when there is none. A live owner renews long before this gets short,
   * so a short answer means a lease is about to lapse — its owner died or stalled — and the placement
   * loop wakes up right then to claim it, instead of at its next round.
   */
  async msUntilNextExpiry(ownerId: string): Promise<number | null> {
    const { records } = await this.run<{ ms: number | null }>(
      `SELECT ceil(extract(epoch FROM min(l.expires_at) - now()) * 1000)::integer AS ms
         FROM session_leases l
         JOIN sessions s ON s.location_id = l.location_id
        WHERE s.desired_state = 'running' AND l.expires_at > now() AND l.owner_id <> $1`,
      [ownerId],
    );
    return records[0]?.ms ?? null;
  }

  /** A structured result, so UPDATE, INSERT and SELECT all report rows and affected counts alike. */
  private async run<T>(
    sql: string,
    parameters: unknown[],
    dataSource = this.dataSource,
  ): Promise<QueryResult<T>> {
    const runner = dataSource.createQueryRunner();
    try {
      return (await runner.query(sql, parameters, true)) as QueryResult<T>;
    } finally {
      await runner.release();
    }
  }
}
