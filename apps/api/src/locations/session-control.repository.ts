import { Injectable } from '@nestjs/common';
import type { SessionState } from '@app/contracts';
import { DataSource, type EntityManager } from 'typeorm';

export type UnownedLogout =
  | { outcome: 'owner_alive' }
  | { outcome: 'logged_out'; previous: SessionState }
  | { outcome: 'nothing_linked'; state: SessionState | null };

/**
 * The api's few writes to the session tables, for when no worker owns the session (so nobody else is
 * writing): the tenant's wish recorded in `desired_state`, and a logout that clears the stored
 * credentials. Each takes the lease row lock and checks the lease is not live by the database clock,
 * so a worker cannot be acquiring the session at the same moment.
 */
@Injectable()
export class SessionControlRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Records that the session must stay stopped; the placement loop never starts it again. */
  async requestStopped(locationId: string): Promise<SessionState | null> {
    const rows = await this.dataSource.query<[{ state: SessionState }[], number]>(
      `UPDATE sessions SET desired_state = 'stopped', updated_at = now() WHERE location_id = $1 RETURNING state`,
      [locationId],
    );
    return rows[0][0]?.state ?? null;
  }

  async logoutUnowned(locationId: string, reason: string, manager?: EntityManager): Promise<UnownedLogout> {
    const run = async (tx: EntityManager): Promise<UnownedLogout> => {
      const lease = await tx.query<{ live: boolean }[]>(
        `SELECT (expires_at > now()) AS live FROM session_leases WHERE location_id = $1 FOR UPDATE`,
        [locationId],
      );
      if (lease[0]?.live) return { outcome: 'owner_alive' };
      const session = await tx.query<{ state: SessionState }[]>(
        `SELECT state FROM sessions WHERE location_id = $1 FOR UPDATE`,
        [locationId],
      );
      await tx.query(
        `UPDATE sessions SET desired_state = 'stopped', updated_at = now() WHERE location_id = $1`,
        [locationId],
      );
      const deleted = await tx.query<[unknown[], number]>(`DELETE FROM auth_state WHERE location_id = $1`, [
        locationId,
      ]);
      const previous = session[0]?.state ?? null;
      if (deleted[1] === 0 || previous === null) return { outcome: 'nothing_linked', state: previous };
      await tx.query(
        `UPDATE sessions SET state = 'logged_out', qr = NULL, qr_expires_at = NULL, phone = NULL, jid = NULL,
                push_name = NULL, last_disconnect_code = NULL, last_disconnect_reason = $2, updated_at = now()
          WHERE location_id = $1`,
        [locationId, reason],
      );
      return { outcome: 'logged_out', previous };
    };
    return manager ? run(manager) : this.dataSource.transaction(run);
  }
}
