import { Injectable } from '@nestjs/common';
import { Sql } from '../db/sql';
import { MAX_STAMP_AHEAD_MS, utcDay, type ReservationState } from './rate-limit.policy';

export interface BucketDefaults {
  max: number;
  intervalMs: number;
  dailyLimit: number;
}

interface ReserveRow {
  granted: number;
  stamp_ms: number;
  stamps: number[];
  now_ms: number;
  oldest_ms: number | null;
  live_count: number;
  max_requests: number;
  interval_ms: number;
  daily_limit: number;
  day_count: number;
  blocked_until_ms: number | null;
}

// The database's clock is the one clock every replica shares; epoch milliseconds as float8.
const NOW_MS = `(floor(extract(epoch FROM clock_timestamp()) * 1000))::float8`;

/** The live part of a bucket's log, locked for the statement's update. */
const CURRENT = `
  cur AS (
    SELECT b.resource_key, b.max_requests, b.interval_ms, b.daily_limit, b.blocked_until_ms, t.now_ms,
           ARRAY(SELECT s FROM unnest(b.stamps) AS s WHERE s > t.now_ms - b.interval_ms ORDER BY s) AS live,
           CASE WHEN b.day = $2 THEN b.day_count ELSE 0 END AS used_today
      FROM rate_limit_buckets b, (SELECT ${NOW_MS} AS now_ms) t
     WHERE b.resource_key = $1
       FOR UPDATE OF b
  )`;

/**
 * `rate_limit_buckets`: each statement reads, decides and writes one bucket under its row lock, so any
 * number of replicas reserving at once never hand out more than the window allows.
 */
@Injectable()
export class RateLimitRepository {
  constructor(private readonly sql: Sql) {}

  /** Reserves up to `want` slots now (stamped `stampAheadMs` late); creates the bucket on first use. */
  async reserve(key: string, want: number, defaults: BucketDefaults): Promise<ReservationState> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const { rows } = await this.sql.query<ReserveRow>(
        `WITH ${CURRENT},
         g AS (
           SELECT cur.*,
                  CASE WHEN COALESCE(cur.blocked_until_ms, 0) > cur.now_ms THEN 0
                       ELSE GREATEST(0, LEAST($3::int, cur.max_requests - cardinality(cur.live),
                                               cur.daily_limit - cur.used_today)) END AS granted
             FROM cur
         )
         UPDATE rate_limit_buckets b
            SET stamps = g.live || array_fill(g.now_ms + LEAST($4::float8, g.interval_ms / 25.0), ARRAY[g.granted]),
                day = $2, day_count = g.used_today + g.granted, updated_at = now()
           FROM g
          WHERE b.resource_key = g.resource_key
         RETURNING g.granted, g.now_ms + LEAST($4::float8, g.interval_ms / 25.0) AS stamp_ms, g.now_ms, g.live[1] AS oldest_ms, cardinality(g.live) + g.granted AS live_count, b.stamps,
                   g.max_requests, g.interval_ms, g.daily_limit, g.used_today + g.granted AS day_count,
                   g.blocked_until_ms`,
        [key, utcDay(Date.now()), want, MAX_STAMP_AHEAD_MS],
        'sync_rate_limit_reserve',
      );
      const row = rows[0];
      if (row) {
        return {
          granted: row.granted,
          nowMs: row.now_ms,
          oldestMs: row.oldest_ms,
          liveCount: row.live_count,
          stampMs: row.stamp_ms,
          stamps: row.stamps,
          max: row.max_requests,
          intervalMs: row.interval_ms,
          dailyLimit: row.daily_limit,
          dayCount: row.day_count,
          blockedUntilMs: row.blocked_until_ms,
        };
      }
      await this.ensure(key, defaults);
    }
    throw new Error(`rate-limit bucket ${key} could not be created`);
  }

  /** Creates the bucket with the configured limits if it does not exist yet. */
  async ensure(key: string, defaults: BucketDefaults): Promise<void> {
    await this.sql.query(
      `INSERT INTO rate_limit_buckets (resource_key, max_requests, interval_ms, daily_limit, day, day_count)
       VALUES ($1, $2, $3, $4, $5, 0)
       ON CONFLICT (resource_key) DO NOTHING`,
      [key, defaults.max, defaults.intervalMs, defaults.dailyLimit, utcDay(Date.now())],
    );
  }

  /** GHL's headers name the real limits: adopt them. */
  async adjustLimits(key: string, limits: Partial<BucketDefaults>, defaults: BucketDefaults): Promise<void> {
    await this.ensure(key, defaults);
    await this.sql.query(
      `UPDATE rate_limit_buckets
          SET max_requests = COALESCE($2, max_requests),
              interval_ms = COALESCE($3, interval_ms),
              daily_limit = COALESCE($4, daily_limit),
              updated_at = now()
        WHERE resource_key = $1`,
      [key, limits.max ?? null, limits.intervalMs ?? null, limits.dailyLimit ?? null],
    );
  }

  /**
   * GHL says fewer slots remain than our log shows (someone else uses the same app and location):
   * adds the difference as stamps, and raises the day's count, so we slow down. Never lowers anything.
   */
  async correct(
    key: string,
    ghl: { remaining: number | null; dailyRemaining: number | null },
    defaults: BucketDefaults,
  ): Promise<void> {
    await this.ensure(key, defaults);
    await this.sql.query(
      `WITH ${CURRENT}
       UPDATE rate_limit_buckets b
          SET stamps = cur.live || array_fill(cur.now_ms + LEAST($5::float8, cur.interval_ms / 25.0),
                         ARRAY[GREATEST(0, cur.max_requests - COALESCE($3::int, cur.max_requests) - cardinality(cur.live))]),
              day = $2,
              day_count = GREATEST(cur.used_today, cur.daily_limit - COALESCE($4::int, cur.daily_limit)),
              updated_at = now()
         FROM cur
        WHERE b.resource_key = cur.resource_key
          AND (cur.max_requests - COALESCE($3::int, cur.max_requests) > cardinality(cur.live)
               OR cur.daily_limit - COALESCE($4::int, cur.daily_limit) > cur.used_today)`,
      [key, utcDay(Date.now()), ghl.remaining, ghl.dailyRemaining, MAX_STAMP_AHEAD_MS],
    );
  }

  /**
   * A granted slot was used later than its stamp allows for (a stalled process, a slow GHL): moves
   * one entry stamped `stampMs` to the database's now, which is after GHL counted the request, so our
   * window cannot free the slot before GHL's does.
   */
  async restamp(key: string, stampMs: number): Promise<void> {
    await this.sql.query(
      `UPDATE rate_limit_buckets
          SET stamps = CASE
                WHEN array_position(stamps, $2::float8) IS NULL THEN stamps || ${NOW_MS}
                ELSE stamps[1:array_position(stamps, $2::float8) - 1] || ${NOW_MS}
                     || stamps[array_position(stamps, $2::float8) + 1:]
              END,
              updated_at = now()
        WHERE resource_key = $1`,
      [key, stampMs],
    );
  }

  /** After a 429: nothing is granted for `retryAfterMs`, and the window counts as full. */
  async block(key: string, retryAfterMs: number, defaults: BucketDefaults): Promise<void> {
    await this.ensure(key, defaults);
    await this.sql.query(
      `WITH ${CURRENT}
       UPDATE rate_limit_buckets b
          SET blocked_until_ms = GREATEST(COALESCE(cur.blocked_until_ms, 0), cur.now_ms + $3::float8),
              stamps = cur.live || array_fill(cur.now_ms, ARRAY[GREATEST(0, cur.max_requests - cardinality(cur.live))]),
              day = $2,
              day_count = cur.used_today,
              updated_at = now()
         FROM cur
        WHERE b.resource_key = cur.resource_key`,
      [key, utcDay(Date.now()), retryAfterMs],
    );
  }
}
