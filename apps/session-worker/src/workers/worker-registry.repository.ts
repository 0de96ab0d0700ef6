import { Injectable } from '@nestjs/common';
import { DataSource, type QueryResult } from 'typeorm';
import type { PlacementWorker } from './fair-share';

export interface WorkerHeartbeat {
  /** MAX_SESSIONS of this worker. */
  readonly capacity: number;
  /** Sessions it holds now, as it counts them (for dashboards; placement counts leases itself). */
  readonly ownedCount: number;
  readonly draining: boolean;
}

function assertCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/**
 * The `workers` table: who is alive, how much each can take, who is shutting down. Liveness is judged by
 * the database clock (`heartbeat_at > now() - staleAfter`), like leases.
 *
 * `staleAfterMs` should be shorter than the lease TTL minus one heartbeat interval (e.g. twice the
 * heartbeat interval with the default 5 s / 15 s): then a dead worker has dropped out of the fair-share
 * count by the time its leases expire, and the survivors claim its sessions in their next round.
 */
@Injectable()
export class WorkerRegistry {
  constructor(private readonly dataSource: DataSource) {}

  /** Registers or refreshes this worker. The first heartbeat also sets `started_at`. */
  async heartbeat(workerId: string, { capacity, ownedCount, draining }: WorkerHeartbeat): Promise<void> {
    assertCount('capacity', capacity);
    assertCount('ownedCount', ownedCount);
    await this.dataSource.query(
      `INSERT INTO workers (worker_id, started_at, heartbeat_at, capacity, owned_count, draining)
       VALUES ($1, now(), now(), $2, $3, $4)
       ON CONFLICT (worker_id) DO UPDATE
          SET heartbeat_at = now(),
              capacity = EXCLUDED.capacity,
              owned_count = EXCLUDED.owned_count,
              draining = EXCLUDED.draining`,
      [workerId, capacity, ownedCount, draining],
    );
  }

  /**
   * Workers that heartbeat within `staleAfterMs` and are not draining, sorted by id. `owned` counts the
   * worker's live leases at this moment (by the database clock), not the count from its last heartbeat:
   * placement must see sessions that changed hands since.
   */
  async liveWorkers(staleAfterMs: number): Promise<PlacementWorker[]> {
    assertCount('staleAfterMs', staleAfterMs);
    const rows: { worker_id: string; capacity: number; owned: number }[] = await this.dataSource.query(
      `SELECT w.worker_id, w.capacity, coalesce(l.owned, 0)::integer AS owned
         FROM workers w
         LEFT JOIN (
           SELECT owner_id, count(*) AS owned FROM session_leases WHERE expires_at > now() GROUP BY owner_id
         ) l ON l.owner_id = w.worker_id
        WHERE w.heartbeat_at > now() - $1::integer * interval '1 millisecond'
          AND NOT w.draining
        ORDER BY w.worker_id`,
      [staleAfterMs],
    );
    return rows.map((row) => ({ id: row.worker_id, capacity: row.capacity, owned: row.owned }));
  }

  /** From now on this worker gets no new sessions (it is shutting down); its heartbeats keep it visible. */
  async markDraining(workerId: string): Promise<void> {
    await this.dataSource.query(`UPDATE workers SET draining = true WHERE worker_id = $1`, [workerId]);
  }

  /** The last step of a clean shutdown, after its leases are released. */
  async remove(workerId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM workers WHERE worker_id = $1`, [workerId]);
  }

  /**
   * Deletes rows of workers silent for longer than `olderThanMs` (pods that died without a clean
   * shutdown; every deploy leaves some). Returns their ids. Any live worker may run it now and then.
   */
  async removeStale(olderThanMs: number): Promise<string[]> {
    assertCount('olderThanMs', olderThanMs);
    // Structured: TypeORM's plain `query` wraps DELETE ... RETURNING rows as [rows, count].
    const runner = this.dataSource.createQueryRunner();
    try {
      const { records } = (await runner.query(
        `DELETE FROM workers WHERE heartbeat_at <= now() - $1::integer * interval '1 millisecond'
         RETURNING worker_id`,
        [olderThanMs],
        true,
      )) as QueryResult<{ worker_id: string }>;
      return records.map((row) => row.worker_id).sort();
    } finally {
      await runner.release();
    }
  }
}
