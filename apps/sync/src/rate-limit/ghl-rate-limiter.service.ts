import { Inject, Injectable } from '@nestjs/common';
import type { SyncConfig } from '@app/config';
import { TransientError } from '@app/messaging';
import type { Logger } from 'pino';
import { ghlMetrics } from '../ghl/ghl.metrics';
import type { RateLimitHeaders } from '../ghl/rate-limit-headers';
import { SYNC_CONFIG, SYNC_LOGGER } from '../sync.tokens';
import {
  batchSize,
  batchTtlMs,
  missingStamps,
  projectedSlot,
  stampAheadMs,
  waitAfterRefusal,
  type ReservationState,
} from './rate-limit.policy';
import { isRetriedDelivery } from './delivery-attempt';
import { RateLimitRepository, type BucketDefaults } from './rate-limit.repository';

/**
 * The limiter said "not now": the GHL call was not made. A TransientError, so the consumer naks the
 * event with this delay and goes on with other locations' events.
 */
export class RateLimitWaitError extends TransientError {
  constructor(
    readonly resourceKey: string,
    waitMs: number,
    readonly reason: 'blocked' | 'window' | 'daily',
  ) {
    super(`GHL rate limit for ${resourceKey} (${reason}): retry in ${waitMs} ms`, {
      retryAfterMs: waitMs,
    });
  }
}

/** A granted slot. Its request must reach GHL before `stampBy` (local clock), or it is restamped. */
export interface SlotLease {
  resourceKey: string;
  stampBy: number;
  /** The slot's entry in the shared window (database clock). */
  stampMs: number;
}

interface LocalBucket {
  /** Slots reserved in the shared log and not used yet. */
  tokens: number;
  /** Local clock; unused slots lapse then. */
  expiresAt: number;
  /** Local clock; a request made with one of `tokens` must have reached GHL by then. */
  stampBy: number;
  /** The entry `tokens` carry in the shared window. */
  stampMs: number;
  /** Local clock; after a 429 or a refusal nothing is asked of the database before this. */
  waitUntil: number;
  waitReason: 'blocked' | 'window' | 'daily';
  /** The shared window's entries as of our last reservation, in local clock. */
  window: number[];
  /** Slots promised to refused first deliveries (local clock), see `projectedSlot`. */
  promised: PromisedSlot[];
  /** Slots promised to refused redeliveries, which go first. */
  retryPromised: PromisedSlot[];
  /** Callers waiting for the reservation in flight. */
  waiting: number;
  reserving: Promise<ReservationState> | undefined;
  /** Live entries in the shared log after our last reservation (for the header check). */
  lastLiveCount: number;
  limits: BucketDefaults | undefined;
  /** The header correction in flight, one at a time per bucket. */
  correcting: Promise<void> | undefined;
}

/** Callers coming back exactly on their slot may beat the slot by a few milliseconds. */
const RETURN_MARGIN_MS = 20;

/**
 * GHL's per-location limit, shared by all sync replicas through `rate_limit_buckets`: a call goes only
 * with a slot of the location's sliding window. Each replica reserves small batches (a few database
 * round trips per second per busy location), never waits inside a handler (a refusal is a
 * `RateLimitWaitError` saying when this caller's slot will be free), and corrects itself from GHL's
 * `X-RateLimit-*` headers, from 429s, and from requests that reached GHL later than planned. Off
 * (`GHL_RATE_LIMIT_ENABLED=false`) it allows everything.
 */
@Injectable()
export class GhlRateLimiter {
  private readonly buckets = new Map<string, LocalBucket>();
  private readonly enabled: boolean;
  private readonly defaults: BucketDefaults;
  private readonly logger: Logger;

  constructor(
    private readonly repository: RateLimitRepository,
    @Inject(SYNC_CONFIG) config: SyncConfig,
    @Inject(SYNC_LOGGER) logger: Logger,
  ) {
    this.enabled = config.GHL_RATE_LIMIT_ENABLED;
    this.defaults = {
      max: config.GHL_RATE_LIMIT_PER_10S,
      // GHL's documented window; its headers replace it when they say otherwise.
      intervalMs: 10_000,
      dailyLimit: config.GHL_DAILY_LIMIT,
    };
    this.logger = logger.child({ component: 'ghl-rate-limiter' });
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /**
   * Takes one slot for `resourceKey` (e.g. `location:<id>`), or throws `RateLimitWaitError`. Hand the
   * lease to `settle` once GHL answered.
   */
  async acquire(resourceKey: string): Promise<SlotLease | null> {
    if (!this.enabled) return null;
    const bucket = this.bucket(resourceKey);
    // A reservation shared by more callers than it granted is followed by another while the window
    // has room; bounded, so a caller never spins.
    for (let round = 0; round < 8; round++) {
      const lease = this.take(resourceKey, bucket);
      if (lease) return lease;
      if (Date.now() < bucket.waitUntil) throw this.refuse(resourceKey, bucket);
      bucket.waiting += 1;
      let state: ReservationState;
      try {
        bucket.reserving ??= this.reserve(resourceKey, bucket).finally(() => {
          bucket.reserving = undefined;
        });
        state = await bucket.reserving;
      } finally {
        bucket.waiting -= 1;
      }
      const granted = this.take(resourceKey, bucket);
      if (granted) return granted;
      if (state.granted === 0) throw this.refuse(resourceKey, bucket);
    }
    // Others took every slot of the rounds above: the window is as good as full.
    throw this.refuse(resourceKey, bucket);
  }

  /**
   * Throws the refusal `acquire` would throw when this process already knows the location has no slot
   * before a later time, without asking the database; lets a handler skip its other work (an
   * idempotency intent, ...) for an event that cannot be sent now.
   */
  precheck(resourceKey: string): void {
    if (!this.enabled) return;
    const bucket = this.buckets.get(resourceKey);
    if (!bucket || (bucket.tokens > 0 && Date.now() < bucket.expiresAt)) return;
    if (Date.now() < bucket.waitUntil) throw this.refuse(resourceKey, bucket);
  }

  /**
   * After GHL answered: a request that may have reached GHL after its slot's stamp (a stalled process,
   * a slow GHL) gets its entry moved to the database's now, so the shared window cannot free its slot
   * before GHL's does. GHL counts a request when it arrives, which is before it answers: the answer's
   * time is the safe bound.
   */
  settle(lease: SlotLease | null, answeredAt: number): void {
    if (!lease || answeredAt <= lease.stampBy) return;
    ghlMetrics.limiterWaits.inc({ reason: 'late_use' });
    this.repository
      .restamp(lease.resourceKey, lease.stampMs)
      .catch((err: unknown) =>
        this.logger.warn({ err, resourceKey: lease.resourceKey }, 'could not restamp a late request'),
      );
  }

  /**
   * Every GHL answer's headers: adopt GHL's limits, and slow down if GHL counts more than we do.
   * Resolves when any correction is stored (callers on the request path do not wait for it).
   */
  observe(resourceKey: string, headers: RateLimitHeaders): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const bucket = this.bucket(resourceKey);
    const limits = bucket.limits;
    const changed =
      (headers.max !== null && headers.max > 0 && headers.max !== (limits?.max ?? this.defaults.max)) ||
      (headers.intervalMs !== null &&
        headers.intervalMs > 0 &&
        headers.intervalMs !== (limits?.intervalMs ?? this.defaults.intervalMs)) ||
      (headers.dailyLimit !== null &&
        headers.dailyLimit > 0 &&
        headers.dailyLimit !== (limits?.dailyLimit ?? this.defaults.dailyLimit));
    const max = headers.max ?? limits?.max ?? this.defaults.max;
    // Our last view of the log can only overstate what GHL counts (reserved slots not used yet), so a
    // GHL count above it is worth a look in the database; below it is normal.
    const behind =
      headers.remaining !== null && missingStamps(max, headers.remaining, bucket.lastLiveCount) > 0;
    if ((!changed && !behind) || bucket.correcting) return bucket.correcting ?? Promise.resolve();
    const correcting = this.correct(resourceKey, bucket, headers, changed, behind).finally(() => {
      bucket.correcting = undefined;
    });
    bucket.correcting = correcting;
    return correcting;
  }

  /** GHL answered 429: nothing for this resource until `retryAfterMs` has passed, on every replica. */
  async penalize(resourceKey: string, retryAfterMs: number): Promise<void> {
    if (!this.enabled) return;
    const bucket = this.bucket(resourceKey);
    const now = Date.now();
    bucket.tokens = 0;
    bucket.waitUntil = Math.max(bucket.waitUntil, now + retryAfterMs);
    bucket.waitReason = 'blocked';
    // The database counts the window as full from now on; so does our view of it.
    const max = bucket.limits?.max ?? this.defaults.max;
    bucket.window = [...bucket.window, ...Array<number>(Math.max(0, max - bucket.window.length)).fill(now)];
    ghlMetrics.limiterWaits.inc({ reason: 'ghl_429' });
    this.logger.warn({ resourceKey, retryAfterMs }, 'GHL answered 429; pausing this resource');
    await this.repository.block(resourceKey, retryAfterMs, this.defaults);
  }

  /** Unused slots, for tests and diagnostics. */
  localTokens(resourceKey: string): number {
    return this.buckets.get(resourceKey)?.tokens ?? 0;
  }

  private take(resourceKey: string, bucket: LocalBucket): SlotLease | null {
    if (bucket.tokens <= 0 || Date.now() >= bucket.expiresAt) return null;
    bucket.tokens -= 1;
    return { resourceKey, stampBy: bucket.stampBy, stampMs: bucket.stampMs };
  }

  private async reserve(resourceKey: string, bucket: LocalBucket): Promise<ReservationState> {
    const max = bucket.limits?.max ?? this.defaults.max;
    const sentAt = Date.now();
    const state = await this.repository.reserve(resourceKey, batchSize(bucket.waiting, max), this.defaults);
    const now = Date.now();
    const offset = now - state.nowMs;
    bucket.limits = { max: state.max, intervalMs: state.intervalMs, dailyLimit: state.dailyLimit };
    bucket.lastLiveCount = state.liveCount;
    bucket.window = state.stamps.map((stamp) => stamp + offset);
    prunePromises(bucket, now);
    bucket.tokens = state.granted;
    bucket.expiresAt = now + batchTtlMs(state.intervalMs);
    // The slots were stamped stampAhead after the database's now, which is after `sentAt`.
    bucket.stampBy = sentAt + stampAheadMs(state.intervalMs);
    bucket.stampMs = state.stampMs;
    if (state.granted === 0) {
      const refusal = waitAfterRefusal(state);
      bucket.waitUntil = now + refusal.waitMs;
      bucket.waitReason = refusal.reason;
    }
    return state;
  }

  /** A refusal telling the caller when its slot will be free (and promising that slot to it). */
  private refuse(resourceKey: string, bucket: LocalBucket): RateLimitWaitError {
    ghlMetrics.limiterWaits.inc({ reason: bucket.waitReason });
    const now = Date.now();
    if (bucket.waitReason === 'daily') {
      return new RateLimitWaitError(resourceKey, Math.max(1, bucket.waitUntil - now), 'daily');
    }
    const intervalMs = bucket.limits?.intervalMs ?? this.defaults.intervalMs;
    // A promise whose time has come is settled (its caller is back, or will not come): forgetting it
    // keeps a caller refused twice from holding two slots.
    prunePromises(bucket, now);
    // A redelivered event queues only behind other redelivered ones: it already waited its turn.
    const retry = isRetriedDelivery();
    const at = projectedSlot({
      nowMs: now,
      window: bucket.window,
      promised: (retry ? bucket.retryPromised : [...bucket.promised, ...bucket.retryPromised]).map(
        (p) => p.stamp,
      ),
      max: bucket.limits?.max ?? this.defaults.max,
      intervalMs,
      notBeforeMs: bucket.waitReason === 'blocked' ? bucket.waitUntil : undefined,
    });
    (retry ? bucket.retryPromised : bucket.promised).push({ at, stamp: at + stampAheadMs(intervalMs) });
    const jitter = Math.random() * RETURN_MARGIN_MS;
    return new RateLimitWaitError(
      resourceKey,
      Math.max(1, Math.round(at - now + RETURN_MARGIN_MS + jitter)),
      bucket.waitReason,
    );
  }

  private async correct(
    resourceKey: string,
    bucket: LocalBucket,
    headers: RateLimitHeaders,
    limitsChanged: boolean,
    behind: boolean,
  ): Promise<void> {
    try {
      if (limitsChanged) {
        const limits = {
          max: headers.max && headers.max > 0 ? headers.max : undefined,
          intervalMs: headers.intervalMs && headers.intervalMs > 0 ? headers.intervalMs : undefined,
          dailyLimit: headers.dailyLimit && headers.dailyLimit > 0 ? headers.dailyLimit : undefined,
        };
        this.logger.info({ resourceKey, limits }, 'GHL rate limits differ from ours; adopting them');
        await this.repository.adjustLimits(resourceKey, limits, this.defaults);
        const previousIntervalMs = bucket.limits?.intervalMs ?? this.defaults.intervalMs;
        if (limits.intervalMs !== undefined && limits.intervalMs !== previousIntervalMs) {
          // A wait for the window, and the slots promised to refused callers, were worked out under
          // the old window's length: under GHL's they may be far too long (a 10 s wait for a 1 s
          // window). Forget them; the next caller reserves under the new limits.
          if (bucket.waitReason === 'window') bucket.waitUntil = 0;
          bucket.promised = [];
          bucket.retryPromised = [];
        }
        bucket.limits = {
          max: limits.max ?? bucket.limits?.max ?? this.defaults.max,
          intervalMs: limits.intervalMs ?? bucket.limits?.intervalMs ?? this.defaults.intervalMs,
          dailyLimit: limits.dailyLimit ?? bucket.limits?.dailyLimit ?? this.defaults.dailyLimit,
        };
      }
      if (behind) {
        await this.repository.correct(
          resourceKey,
          { remaining: headers.remaining, dailyRemaining: headers.dailyRemaining },
          this.defaults,
        );
      }
    } catch (err) {
      this.logger.warn({ err, resourceKey }, 'could not correct the rate-limit bucket from GHL headers');
    }
  }

  private bucket(resourceKey: string): LocalBucket {
    let bucket = this.buckets.get(resourceKey);
    if (!bucket) {
      bucket = {
        tokens: 0,
        expiresAt: 0,
        stampBy: 0,
        stampMs: 0,
        waitUntil: 0,
        waitReason: 'window',
        window: [],
        promised: [],
        retryPromised: [],
        waiting: 0,
        reserving: undefined,
        lastLiveCount: 0,
        limits: undefined,
        correcting: undefined,
      };
      this.buckets.set(resourceKey, bucket);
    }
    return bucket;
  }
}

/** A slot promised to a refused caller: when it may come back, and the entry its request will make. */
interface PromisedSlot {
  at: number;
  stamp: number;
}

function prunePromises(bucket: LocalBucket, now: number): void {
  bucket.promised = bucket.promised.filter((p) => p.at > now);
  bucket.retryPromised = bucket.retryPromised.filter((p) => p.at > now);
}
