import { Injectable } from '@nestjs/common';
import type { SessionState } from '@app/contracts';
import type { DesiredSessionState, InstallationStatus, InstallType, TokenKind } from '@app/persistence';
import { DataSource } from 'typeorm';

export interface TokenView {
  expiresAt: Date;
  expired: boolean;
  kind: TokenKind;
  scopes: string;
  revision: number;
  updatedAt: Date;
}

export interface LocationSnapshot {
  locationId: string;
  /** The database clock: lease liveness and QR expiry are judged by it, never by ours. */
  dbNow: Date;
  installation: {
    status: InstallationStatus;
    installType: InstallType;
    companyId: string | null;
    statusReason: string | null;
    installedAt: Date;
    uninstalledAt: Date | null;
    updatedAt: Date;
  } | null;
  session: {
    desiredState: DesiredSessionState;
    state: SessionState;
    phone: string | null;
    pushName: string | null;
    lastDisconnectCode: number | null;
    lastDisconnectReason: string | null;
    qr: string | null;
    qrExpiresAt: Date | null;
    qrLive: boolean;
    ownerWorkerId: string | null;
    stateEpoch: number;
    updatedAt: Date;
  } | null;
  lease: {
    ownerId: string;
    epoch: number;
    expiresAt: Date;
    acquiredAt: Date;
    renewedAt: Date;
    live: boolean;
  } | null;
  locationToken: TokenView | null;
  /** The agency token an agency install mints location tokens from. */
  companyToken: TokenView | null;
}

interface SnapshotRow {
  location_id: string;
  db_now: Date;
  i_status: InstallationStatus | null;
  i_install_type: InstallType | null;
  i_company_id: string | null;
  i_status_reason: string | null;
  i_installed_at: Date | null;
  i_uninstalled_at: Date | null;
  i_updated_at: Date | null;
  s_desired_state: DesiredSessionState | null;
  s_state: SessionState | null;
  s_phone: string | null;
  s_push_name: string | null;
  s_last_disconnect_code: number | null;
  s_last_disconnect_reason: string | null;
  s_qr: string | null;
  s_qr_expires_at: Date | null;
  s_qr_live: boolean | null;
  s_owner_worker_id: string | null;
  s_state_epoch: string | null;
  s_updated_at: Date | null;
  l_owner_id: string | null;
  l_epoch: string | null;
  l_expires_at: Date | null;
  l_acquired_at: Date | null;
  l_renewed_at: Date | null;
  l_live: boolean | null;
  t_expires_at: Date | null;
  t_expired: boolean | null;
  t_token_kind: TokenKind | null;
  t_scopes: string | null;
  t_revision: number | null;
  t_updated_at: Date | null;
  c_expires_at: Date | null;
  c_expired: boolean | null;
  c_token_kind: TokenKind | null;
  c_scopes: string | null;
  c_revision: number | null;
  c_updated_at: Date | null;
}

// One statement for everything a status answer needs, judged against one database clock reading.
const SNAPSHOT_SELECT = `
  SELECT q.location_id, now() AS db_now,
         i.status AS i_status, i.install_type AS i_install_type, i.company_id AS i_company_id,
         i.status_reason AS i_status_reason, i.installed_at AS i_installed_at,
         i.uninstalled_at AS i_uninstalled_at, i.updated_at AS i_updated_at,
         s.desired_state AS s_desired_state, s.state AS s_state, s.phone AS s_phone, s.push_name AS s_push_name,
         s.last_disconnect_code AS s_last_disconnect_code, s.last_disconnect_reason AS s_last_disconnect_reason,
         s.qr AS s_qr, s.qr_expires_at AS s_qr_expires_at,
         (s.state = 'qr' AND s.qr IS NOT NULL AND s.qr_expires_at > now()) AS s_qr_live,
         s.owner_worker_id AS s_owner_worker_id, s.state_epoch AS s_state_epoch, s.updated_at AS s_updated_at,
         l.owner_id AS l_owner_id, l.epoch AS l_epoch, l.expires_at AS l_expires_at,
         l.acquired_at AS l_acquired_at, l.renewed_at AS l_renewed_at, (l.expires_at > now()) AS l_live,
         t.expires_at AS t_expires_at, (t.expires_at <= now()) AS t_expired, t.token_kind AS t_token_kind,
         t.scopes AS t_scopes, t.revision AS t_revision, t.updated_at AS t_updated_at,
         c.expires_at AS c_expires_at, (c.expires_at <= now()) AS c_expired, c.token_kind AS c_token_kind,
         c.scopes AS c_scopes, c.revision AS c_revision, c.updated_at AS c_updated_at
    FROM q
    LEFT JOIN installations i ON i.location_id = q.location_id
    LEFT JOIN sessions s ON s.location_id = q.location_id
    LEFT JOIN session_leases l ON l.location_id = q.location_id
    LEFT JOIN oauth_tokens t ON t.resource_type = 'location' AND t.resource_id = q.location_id
    LEFT JOIN oauth_tokens c ON c.resource_type = 'company' AND c.resource_id = i.company_id
                            AND i.install_type = 'Company'`;

export interface ListOptions {
  limit: number;
  /** Keyset pagination: locations after this id. */
  after: string | null;
  /** Only these locations (a location credential sees itself only). */
  only: string | null;
  includeUninstalled: boolean;
}

/** Reads of the stored state the api answers from: installations, the session projection, leases, tokens. */
@Injectable()
export class LocationReadRepository {
  constructor(private readonly dataSource: DataSource) {}

  async snapshot(locationId: string): Promise<LocationSnapshot> {
    const rows = await this.dataSource.query<SnapshotRow[]>(
      `WITH q AS (SELECT $1::varchar AS location_id) ${SNAPSHOT_SELECT}`,
      [locationId],
    );
    return toSnapshot(rows[0]);
  }

  /** Locations that have (or had) the app, with their session, ordered by id. */
  async list(options: ListOptions): Promise<LocationSnapshot[]> {
    const rows = await this.dataSource.query<SnapshotRow[]>(
      `WITH q AS (
         SELECT location_id FROM installations
          WHERE ($1::varchar IS NULL OR location_id > $1)
            AND ($2::varchar IS NULL OR location_id = $2)
            AND ($3::boolean OR status <> 'uninstalled')
          ORDER BY location_id LIMIT $4)
       ${SNAPSHOT_SELECT}
       ORDER BY q.location_id`,
      [options.after, options.only, options.includeUninstalled, options.limit],
    );
    return rows.map(toSnapshot);
  }

  async installationStatus(locationId: string): Promise<InstallationStatus | null> {
    const rows = await this.dataSource.query<{ status: InstallationStatus }[]>(
      `SELECT status FROM installations WHERE location_id = $1`,
      [locationId],
    );
    return rows[0]?.status ?? null;
  }

  /** What an operator needs beyond the status, still without any secret. */
  async debugExtras(locationId: string, ownerId: string | null) {
    const [auth, worker] = await Promise.all([
      this.dataSource.query<
        { keys: string; creds: boolean; last_written_at: Date | null; max_epoch: string | null }[]
      >(
        `SELECT count(*) AS keys, bool_or(category = 'creds') AS creds,
                max(updated_at) AS last_written_at, max(written_epoch) AS max_epoch
           FROM auth_state WHERE location_id = $1`,
        [locationId],
      ),
      ownerId
        ? this.dataSource.query<
            {
              worker_id: string;
              started_at: Date;
              heartbeat_at: Date;
              capacity: number;
              owned_count: number;
              draining: boolean;
              heartbeat_age_ms: number;
            }[]
          >(
            `SELECT worker_id, started_at, heartbeat_at, capacity, owned_count, draining,
                    (EXTRACT(EPOCH FROM (now() - heartbeat_at)) * 1000)::float8 AS heartbeat_age_ms
               FROM workers WHERE worker_id = $1`,
            [ownerId],
          )
        : Promise.resolve([]),
    ]);
    const a = auth[0];
    const w = worker[0];
    return {
      authState: {
        keys: Number(a?.keys ?? 0),
        hasCredentials: a?.creds === true,
        lastWrittenAt: a?.last_written_at ?? null,
        lastWrittenEpoch: a?.max_epoch === null || a?.max_epoch === undefined ? null : Number(a.max_epoch),
      },
      ownerWorker: w
        ? {
            workerId: w.worker_id,
            startedAt: w.started_at,
            heartbeatAt: w.heartbeat_at,
            heartbeatAgeMs: Math.round(w.heartbeat_age_ms),
            capacity: w.capacity,
            ownedCount: w.owned_count,
            draining: w.draining,
          }
        : null,
    };
  }
}

function token(
  expiresAt: Date | null,
  expired: boolean | null,
  kind: TokenKind | null,
  scopes: string | null,
  revision: number | null,
  updatedAt: Date | null,
): TokenView | null {
  if (!expiresAt || !kind || !updatedAt) return null;
  return {
    expiresAt,
    expired: expired === true,
    kind,
    scopes: scopes ?? '',
    revision: revision ?? 0,
    updatedAt,
  };
}

function toSnapshot(r: SnapshotRow): LocationSnapshot {
  return {
    locationId: r.location_id,
    dbNow: r.db_now,
    installation:
      r.i_status && r.i_install_type && r.i_installed_at && r.i_updated_at
        ? {
            status: r.i_status,
            installType: r.i_install_type,
            companyId: r.i_company_id,
            statusReason: r.i_status_reason,
            installedAt: r.i_installed_at,
            uninstalledAt: r.i_uninstalled_at,
            updatedAt: r.i_updated_at,
          }
        : null,
    session:
      r.s_state && r.s_desired_state && r.s_updated_at
        ? {
            desiredState: r.s_desired_state,
            state: r.s_state,
            phone: r.s_phone,
            pushName: r.s_push_name,
            lastDisconnectCode: r.s_last_disconnect_code,
            lastDisconnectReason: r.s_last_disconnect_reason,
            qr: r.s_qr,
            qrExpiresAt: r.s_qr_expires_at,
            qrLive: r.s_qr_live === true,
            ownerWorkerId: r.s_owner_worker_id,
            stateEpoch: Number(r.s_state_epoch ?? 0),
            updatedAt: r.s_updated_at,
          }
        : null,
    lease:
      r.l_owner_id && r.l_epoch && r.l_expires_at && r.l_acquired_at && r.l_renewed_at
        ? {
            ownerId: r.l_owner_id,
            epoch: Number(r.l_epoch),
            expiresAt: r.l_expires_at,
            acquiredAt: r.l_acquired_at,
            renewedAt: r.l_renewed_at,
            live: r.l_live === true,
          }
        : null,
    locationToken: token(
      r.t_expires_at,
      r.t_expired,
      r.t_token_kind,
      r.t_scopes,
      r.t_revision,
      r.t_updated_at,
    ),
    companyToken: token(
      r.c_expires_at,
      r.c_expired,
      r.c_token_kind,
      r.c_scopes,
      r.c_revision,
      r.c_updated_at,
    ),
  };
}
