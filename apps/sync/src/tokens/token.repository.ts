import { Inject, Injectable } from '@nestjs/common';
import {
  SecretBox,
  sealingContext,
  type InstallType,
  type TokenKind,
  type TokenResourceType,
  type TokenUserType,
} from '@app/persistence';
import { Sql, type SqlRunner } from '../db/sql';

export const SYNC_SECRET_BOX = Symbol('SYNC_SECRET_BOX');

export interface StoredToken {
  resourceType: TokenResourceType;
  resourceId: string;
  accessToken: string;
  /** Null for a Private Integration token; '' for a minted location token GHL gave no refresh token for. */
  refreshToken: string | null;
  expiresAt: Date;
  scopes: string;
  userType: TokenUserType;
  kind: TokenKind;
  revision: number;
}

export interface NewTokens {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date;
  scopes: string;
  userType: TokenUserType;
  kind: TokenKind;
}

interface TokenRow {
  resource_type: TokenResourceType;
  resource_id: string;
  access_token_enc: Buffer;
  refresh_token_enc: Buffer | null;
  expires_at: Date;
  scopes: string;
  user_type: TokenUserType;
  token_kind: TokenKind;
  revision: number;
}

const COLUMNS =
  'resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, scopes, user_type, token_kind, revision';

/**
 * `oauth_tokens`, sealed with SecretBox under `sealingContext.oauthToken` (a ciphertext copied to
 * another row does not open). Every write of new tokens increments `revision`, the fence of the
 * single-flight refresh.
 */
@Injectable()
export class TokenRepository {
  constructor(
    private readonly sql: Sql,
    @Inject(SYNC_SECRET_BOX) private readonly box: SecretBox,
  ) {}

  async read(type: TokenResourceType, id: string, runner: SqlRunner = this.sql): Promise<StoredToken | null> {
    const { rows } = await runner.query<TokenRow>(
      `SELECT ${COLUMNS} FROM oauth_tokens WHERE resource_type = $1 AND resource_id = $2`,
      [type, id],
    );
    return rows[0] ? this.open(rows[0]) : null;
  }

  /**
   * Reads and locks the row for the rest of the transaction: the single-flight point of a refresh.
   * With `skipLocked`, a row another transaction holds reads as absent instead of waiting for it.
   */
  async lock(
    tx: SqlRunner,
    type: TokenResourceType,
    id: string,
    options: { skipLocked?: boolean } = {},
  ): Promise<StoredToken | null> {
    const { rows } = await tx.query<TokenRow>(
      `SELECT ${COLUMNS} FROM oauth_tokens WHERE resource_type = $1 AND resource_id = $2
         FOR UPDATE${options.skipLocked ? ' SKIP LOCKED' : ''}`,
      [type, id],
    );
    return rows[0] ? this.open(rows[0]) : null;
  }

  /**
   * OAuth tokens (not Private Integration ones) that expire before `before`, soonest first, skipping
   * locations waiting for a re-install or uninstalled: what the refresh sweep renews.
   */
  async expiringBefore(
    before: Date,
    limit: number,
  ): Promise<{ resourceType: TokenResourceType; resourceId: string; revision: number }[]> {
    const { rows } = await this.sql.query<{
      resource_type: TokenResourceType;
      resource_id: string;
      revision: number;
    }>(
      `SELECT t.resource_type, t.resource_id, t.revision
         FROM oauth_tokens t
         LEFT JOIN installations i ON t.resource_type = 'location' AND i.location_id = t.resource_id
        WHERE t.expires_at < $1 AND t.token_kind = 'oauth'
          AND COALESCE(i.status, 'active') = 'active'
        ORDER BY t.expires_at
        LIMIT $2`,
      [before, limit],
    );
    return rows.map((r) => ({
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      revision: r.revision,
    }));
  }

  /** Inserts or replaces both tokens at once and moves the revision on; returns the new revision. */
  async write(
    type: TokenResourceType,
    id: string,
    tokens: NewTokens,
    runner: SqlRunner = this.sql,
  ): Promise<number> {
    const { rows } = await runner.query<{ revision: number }>(
      `INSERT INTO oauth_tokens AS t
         (resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, scopes, user_type, token_kind, revision, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, now())
       ON CONFLICT (resource_type, resource_id) DO UPDATE
         SET access_token_enc = EXCLUDED.access_token_enc,
             refresh_token_enc = EXCLUDED.refresh_token_enc,
             expires_at = EXCLUDED.expires_at,
             scopes = EXCLUDED.scopes,
             user_type = EXCLUDED.user_type,
             token_kind = EXCLUDED.token_kind,
             revision = t.revision + 1,
             updated_at = now()
       RETURNING revision`,
      [
        type,
        id,
        this.box.seal(tokens.accessToken, sealingContext.oauthToken(type, id, 'access')),
        tokens.refreshToken === null
          ? null
          : this.box.seal(tokens.refreshToken, sealingContext.oauthToken(type, id, 'refresh')),
        tokens.expiresAt,
        tokens.scopes,
        tokens.userType,
        tokens.kind,
      ],
    );
    return rows[0].revision;
  }

  /** Inserts only when the row does not exist (a minted location token must not replace a newer one). */
  async insertIfAbsent(type: TokenResourceType, id: string, tokens: NewTokens): Promise<boolean> {
    const { rows } = await this.sql.query(
      `INSERT INTO oauth_tokens
         (resource_type, resource_id, access_token_enc, refresh_token_enc, expires_at, scopes, user_type, token_kind, revision)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
       ON CONFLICT (resource_type, resource_id) DO NOTHING
       RETURNING revision`,
      [
        type,
        id,
        this.box.seal(tokens.accessToken, sealingContext.oauthToken(type, id, 'access')),
        tokens.refreshToken === null
          ? null
          : this.box.seal(tokens.refreshToken, sealingContext.oauthToken(type, id, 'refresh')),
        tokens.expiresAt,
        tokens.scopes,
        tokens.userType,
        tokens.kind,
      ],
    );
    return rows.length > 0;
  }

  private open(row: TokenRow): StoredToken {
    const aad = (token: 'access' | 'refresh') =>
      sealingContext.oauthToken(row.resource_type, row.resource_id, token);
    return {
      resourceType: row.resource_type,
      resourceId: row.resource_id,
      accessToken: this.box.openString(row.access_token_enc, aad('access')),
      refreshToken:
        row.refresh_token_enc === null ? null : this.box.openString(row.refresh_token_enc, aad('refresh')),
      expiresAt: row.expires_at,
      scopes: row.scopes,
      userType: row.user_type,
      kind: row.token_kind,
      revision: row.revision,
    };
  }
}

export interface InstallationState {
  status: 'active' | 'needs_reauth' | 'uninstalled';
  reason: string | null;
  companyId: string | null;
  installType: InstallType;
}

/** The `installations` rows the sync reads and writes (the api shows their status). */
@Injectable()
export class InstallationRepository {
  constructor(private readonly sql: Sql) {}

  async read(locationId: string, runner: SqlRunner = this.sql): Promise<InstallationState | null> {
    const { rows } = await runner.query<{
      status: InstallationState['status'];
      status_reason: string | null;
      company_id: string | null;
      install_type: InstallType;
    }>(`SELECT status, status_reason, company_id, install_type FROM installations WHERE location_id = $1`, [
      locationId,
    ]);
    const row = rows[0];
    return row
      ? {
          status: row.status,
          reason: row.status_reason,
          companyId: row.company_id,
          installType: row.install_type,
        }
      : null;
  }

  /** Installed (or installed again): active, reason cleared. */
  async markInstalled(
    locationId: string,
    install: { companyId: string | null; installType: InstallType },
    runner: SqlRunner = this.sql,
  ): Promise<void> {
    await runner.query(
      `INSERT INTO installations AS i (location_id, company_id, install_type, status, status_reason, installed_at, uninstalled_at, updated_at)
       VALUES ($1, $2, $3, 'active', NULL, now(), NULL, now())
       ON CONFLICT (location_id) DO UPDATE
         SET company_id = COALESCE(EXCLUDED.company_id, i.company_id),
             install_type = EXCLUDED.install_type,
             status = 'active',
             status_reason = NULL,
             installed_at = CASE WHEN i.status = 'uninstalled' THEN now() ELSE i.installed_at END,
             uninstalled_at = NULL,
             updated_at = now()`,
      [locationId, install.companyId, install.installType],
    );
  }

  /**
   * Moves an active (or unknown) installation to `needs_reauth` with the reason; an uninstalled one
   * stays uninstalled. True when this call changed it
   * (so the event and the error log happen once, not once per message).
   */
  async markNeedsReauth(locationId: string, reason: string, runner: SqlRunner = this.sql): Promise<boolean> {
    const { rows } = await runner.query(
      `INSERT INTO installations AS i (location_id, install_type, status, status_reason, updated_at)
       VALUES ($1, 'Location', 'needs_reauth', $2, now())
       ON CONFLICT (location_id) DO UPDATE
         SET status = 'needs_reauth', status_reason = EXCLUDED.status_reason, updated_at = now()
       WHERE i.status = 'active'
       RETURNING location_id`,
      [locationId, reason],
    );
    return rows.length > 0;
  }
}
