import { Injectable } from '@nestjs/common';
import type { SessionState } from '@app/contracts';
import { DataSource } from 'typeorm';

/** Columns of the `sessions` row the owner keeps current for the api (which never asks a worker). */
export interface SessionProjectionPatch {
  state?: SessionState;
  desiredState?: 'running' | 'stopped';
  phone?: string | null;
  jid?: string | null;
  pushName?: string | null;
  lastDisconnectCode?: number | null;
  lastDisconnectReason?: string | null;
  qr?: string | null;
  qrExpiresAt?: Date | null;
}

const COLUMNS: Record<keyof SessionProjectionPatch, string> = {
  state: 'state',
  desiredState: 'desired_state',
  phone: 'phone',
  jid: 'jid',
  pushName: 'push_name',
  lastDisconnectCode: 'last_disconnect_code',
  lastDisconnectReason: 'last_disconnect_reason',
  qr: 'qr',
  qrExpiresAt: 'qr_expires_at',
};

export interface LeaseIdentity {
  locationId: string;
  ownerId: string;
  epoch: number;
}

@Injectable()
export class SessionProjectionRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Fenced write: applies only while `lease` is the current lease of the location (same owner and
   * epoch), so a worker that lost its lease cannot overwrite what the new owner reports.
   * Returns false when the write was refused.
   */
  async write(lease: LeaseIdentity, patch: SessionProjectionPatch): Promise<boolean> {
    const sets: string[] = ['owner_worker_id = $2', 'state_epoch = $3', 'updated_at = now()'];
    const params: unknown[] = [lease.locationId, lease.ownerId, lease.epoch];
    for (const [key, column] of Object.entries(COLUMNS) as [keyof SessionProjectionPatch, string][]) {
      if (patch[key] === undefined) continue;
      params.push(patch[key]);
      sets.push(`${column} = $${params.length}`);
    }
    const rows = await this.dataSource.query<[unknown[], number]>(
      `UPDATE sessions SET ${sets.join(', ')}
        WHERE location_id = $1
          AND EXISTS (SELECT 1 FROM session_leases l
                       WHERE l.location_id = $1 AND l.owner_id = $2 AND l.epoch = $3)
        RETURNING location_id`,
      params,
    );
    return rows[1] > 0;
  }

  /**
   * Records that a location's session should run (the start command); creates the row on first use.
   * A session in a terminal state goes back to `starting`, since a start is the user asking again.
   */
  async requestRunning(locationId: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO sessions (location_id, desired_state, state) VALUES ($1, 'running', 'starting')
       ON CONFLICT (location_id) DO UPDATE
         SET desired_state = 'running',
             state = CASE WHEN sessions.state IN ('stopped', 'logged_out', 'forbidden', 'qr_timeout', 'failed')
                          THEN 'starting' ELSE sessions.state END,
             updated_at = now()`,
      [locationId],
    );
  }

  async state(locationId: string): Promise<SessionState | null> {
    const rows = await this.dataSource.query<{ state: SessionState }[]>(
      `SELECT state FROM sessions WHERE location_id = $1`,
      [locationId],
    );
    return rows[0]?.state ?? null;
  }

  async desiredState(locationId: string): Promise<'running' | 'stopped' | null> {
    const rows = await this.dataSource.query<{ desired_state: 'running' | 'stopped' }[]>(
      `SELECT desired_state FROM sessions WHERE location_id = $1`,
      [locationId],
    );
    return rows[0]?.desired_state ?? null;
  }
}
