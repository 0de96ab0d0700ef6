import { Check, Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * One GHL rate-limit bucket (per app per location, GHL-CONTRACT §7), shared by every sync replica.
 * GHL counts requests in a sliding window, so the bucket is a log of the window's request times
 * (epoch milliseconds), from which replicas reserve small batches in one statement.
 */
@Entity({ name: 'rate_limit_buckets' })
@Check('ck_rate_limit_buckets_positive', '"max_requests" > 0 AND "interval_ms" > 0 AND "daily_limit" > 0')
export class RateLimitBucketEntity {
  /** e.g. `location:<locationId>`. */
  @PrimaryColumn({
    name: 'resource_key',
    type: 'varchar',
    length: 100,
    primaryKeyConstraintName: 'pk_rate_limit_buckets',
  })
  resourceKey!: string;

  /** Requests allowed per window; GHL's `X-RateLimit-Max` overrides the configured value. */
  @Column({ name: 'max_requests', type: 'integer' })
  maxRequests!: number;

  /** GHL's `X-RateLimit-Interval-Milliseconds`. */
  @Column({ name: 'interval_ms', type: 'integer' })
  intervalMs!: number;

  /** Epoch milliseconds of the requests counted in the window (reservations are stamped late, on purpose). */
  @Column({ name: 'stamps', type: 'double precision', array: true, default: () => "'{}'" })
  stamps!: number[];

  /** After a 429: nothing is granted before this epoch millisecond. */
  @Column({ name: 'blocked_until_ms', type: 'double precision', nullable: true })
  blockedUntilMs!: number | null;

  @Column({ name: 'daily_limit', type: 'integer' })
  dailyLimit!: number;

  /** UTC day (`YYYY-MM-DD`) that `dayCount` counts. */
  @Column({ name: 'day', type: 'varchar', length: 10 })
  day!: string;

  @Column({ name: 'day_count', type: 'integer', default: 0 })
  dayCount!: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
