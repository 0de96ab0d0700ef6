import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import type { ApiKeyScope } from '@app/persistence';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { API_CONFIG } from '../api.tokens';
import type { Principal } from './principal';

/** Recognisable in logs and secret scanners; the rest is 256 random bits. */
export const API_KEY_PREFIX = 'wak_';

// A revoked key keeps working on a replica for at most this long; in exchange most requests skip the database.
const CACHE_TTL_MS = 5_000;
const CACHE_MAX_ENTRIES = 10_000;

export interface ApiKeySummary {
  id: string;
  scope: ApiKeyScope;
  locationId: string | null;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

interface ApiKeyRow {
  id: string;
  scope: ApiKeyScope;
  location_id: string | null;
  label: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Operator API keys: only their SHA-256 is stored (`api_keys.key_hash`), so a leaked table grants
 * nothing. `ADMIN_API_KEY` from the environment is an admin key that exists before any row does.
 */
@Injectable()
export class ApiKeyService {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private readonly bootstrapHash: Buffer | null;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.bootstrapHash = config.ADMIN_API_KEY ? Buffer.from(hashApiKey(config.ADMIN_API_KEY), 'hex') : null;
  }

  /** The principal a presented key stands for, or null when it is unknown or revoked. */
  async authenticate(key: string): Promise<Principal | null> {
    const hash = hashApiKey(key);
    if (this.bootstrapHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.bootstrapHash)) {
      return { kind: 'admin', via: 'bootstrap_key', id: 'bootstrap-admin' };
    }
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.principal;
    const rows = await this.dataSource.query<ApiKeyRow[]>(
      `SELECT id, scope, location_id, label, created_at, revoked_at
         FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    const principal: Principal | null = !row
      ? null
      : row.scope === 'admin'
        ? { kind: 'admin', via: 'api_key', id: row.id }
        : { kind: 'location', via: 'api_key', id: row.id, locationId: row.location_id ?? '' };
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(hash, { principal, until: now + CACHE_TTL_MS });
    return principal;
  }

  /** Creates a key and returns it once; only its hash is kept. */
  async create(input: {
    scope: ApiKeyScope;
    locationId: string | null;
    label: string | null;
  }): Promise<{ key: string; summary: ApiKeySummary }> {
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const rows = await this.dataSource.query<ApiKeyRow[]>(
      `INSERT INTO api_keys (key_hash, scope, location_id, label) VALUES ($1, $2, $3, $4)
       RETURNING id, scope, location_id, label, created_at, revoked_at`,
      [hashApiKey(key), input.scope, input.scope === 'admin' ? null : input.locationId, input.label],
    );
    return { key, summary: toSummary(rows[0]) };
  }

  async list(): Promise<ApiKeySummary[]> {
    const rows = await this.dataSource.query<ApiKeyRow[]>(
      `SELECT id, scope, location_id, label, created_at, revoked_at FROM api_keys ORDER BY created_at, id`,
    );
    return rows.map(toSummary);
  }

  /** Revokes a key; false when there is no such key. Other replicas notice within CACHE_TTL_MS. */
  async revoke(id: string): Promise<ApiKeySummary | null> {
    const rows = await this.dataSource.query<[ApiKeyRow[], number]>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
       RETURNING id, scope, location_id, label, created_at, revoked_at`,
      [id],
    );
    this.cache.clear();
    return rows[0][0] ? toSummary(rows[0][0]) : null;
  }
}

function toSummary(row: ApiKeyRow): ApiKeySummary {
  return {
    id: row.id,
    scope: row.scope,
    locationId: row.location_id,
    label: row.label,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at ? row.revoked_at.toISOString() : null,
  };
}
