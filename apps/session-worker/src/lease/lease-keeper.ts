import type { Lease, LeaseRef } from './lease';
import { systemLeaseScheduler, type LeaseScheduler, type TimerHandle } from './lease-scheduler';

/** Defaults of LEASE_TTL_MS and LEASE_RENEW_MS in the session-worker config. */
export const DEFAULT_LEASE_TTL_MS = 15_000;
export const DEFAULT_LEASE_RENEW_MS = 5_000;

/** The part of `SessionLeaseRepository` a keeper needs; a strict fake in unit tests. */
export interface LeaseRenewer {
  renew(lease: LeaseRef, ttlMs: number): Promise<Lease | null>;
}

export interface LeaseAcquirer {
  acquire(locationId: string, ownerId: string, ttlMs: number): Promise<Lease | null>;
}

/**
 * Why a kept lease must be treated as gone. In both cases the socket has to close now.
 * - `not-held`: the database said the lease is no longer this holding (expired and taken, epoch moved).
 * - `unconfirmed`: no renewal was confirmed in time (database down, process paused, slow queries); the
 *   lease may still be ours on the server, but not for long enough to be sure.
 */
export type LeaseLostReason =
  | { readonly code: 'not-held'; readonly message: string }
  | { readonly code: 'unconfirmed'; readonly message: string; readonly lastError?: string };

export interface LeaseKeeperOptions {
  ttlMs: number;
  renewEveryMs: number;
  /**
   * How long before the lease could expire on the server the keeper gives up: time to close the socket.
   * Default max(1000, ttl / 5), but at most ttl / 2 so short test TTLs still leave room to renew.
   */
  safetyMarginMs?: number;
  /** After a renewal fails with an error, the next try comes this soon. Default min(1000, renewEvery). */
  retryAfterErrorMs?: number;
  /** Called once, synchronously from a timer or a renewal result; it must close the socket. */
  onLost: (reason: LeaseLostReason) => void;
  /** A renewal threw (it will be retried); for logs and metrics. */
  onRenewError?: (error: unknown) => void;
  scheduler?: LeaseScheduler;
  /**
   * Monotonic time (`scheduler.now()`) when the request that granted `lease` was sent; the first safety
   * deadline counts from it. Defaults to the construction time, which is later than the truth by one
   * round trip: prefer `LeaseKeeper.acquire`, which records it.
   */
  leaseSentAt?: number;
}

export function defaultSafetyMarginMs(ttlMs: number): number {
  return Math.min(Math.max(1_000, ttlMs / 5), ttlMs / 2);
}

/**
 * Keeps one lease: renews it on a fixed cadence and decides, on the local monotonic clock, when it can
 * no longer be trusted.
 *
 * The safety argument: a renewal the database confirms was executed after it was sent, so on the
 * server the lease then lasts until at least `sentAt + ttl` in real time. The keeper therefore keeps a
 * deadline `sentAt(last confirmed renewal) + ttl - safetyMargin` and, if nothing newer is confirmed by
 * then, calls `onLost` while the lease is still ours on the server — the margin is the time the caller
 * has to close the socket before another worker may acquire the session.
 *
 * Renewals are sent on a fixed cadence whether or not the previous one has answered, so one hung
 * connection cannot starve renewals that would succeed on another.
 */
export class LeaseKeeper {
  private current: Lease;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private readonly safetyMarginMs: number;
  private readonly retryAfterErrorMs: number;
  private readonly scheduler: LeaseScheduler;
  private confirmedSentAt: number;
  private renewTimer: TimerHandle | undefined;
  private nextRenewAt = Number.POSITIVE_INFINITY;
  private deadlineTimer: TimerHandle | undefined;
  private lastError: string | undefined;
  private started = false;
  private lost = false;
  private stopped = false;

  constructor(
    private readonly renewer: LeaseRenewer,
    lease: Lease,
    private readonly options: LeaseKeeperOptions,
  ) {
    const { ttlMs, renewEveryMs } = options;
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be positive, got ${ttlMs}`);
    this.safetyMarginMs = options.safetyMarginMs ?? defaultSafetyMarginMs(ttlMs);
    if (!(this.safetyMarginMs >= 0 && this.safetyMarginMs < ttlMs)) {
      throw new RangeError(`safetyMarginMs must be in [0, ttlMs), got ${this.safetyMarginMs}`);
    }
    // A cadence slower than the safe window would let the deadline pass between two healthy renewals.
    if (!(renewEveryMs > 0 && renewEveryMs < ttlMs - this.safetyMarginMs)) {
      throw new RangeError(
        `renewEveryMs must be positive and below ttl - safety margin (${ttlMs - this.safetyMarginMs}), got ${renewEveryMs}`,
      );
    }
    this.ttlMs = ttlMs;
    this.renewEveryMs = renewEveryMs;
    this.retryAfterErrorMs = options.retryAfterErrorMs ?? Math.min(1_000, renewEveryMs);
    this.scheduler = options.scheduler ?? systemLeaseScheduler;
    this.current = lease;
    this.confirmedSentAt = options.leaseSentAt ?? this.scheduler.now();
  }

  /**
   * Acquires and starts keeping, recording when the acquire was sent so the first deadline is exact.
   * Null: someone else holds a live lease.
   */
  static async acquire(
    repository: LeaseAcquirer & LeaseRenewer,
    locationId: string,
    ownerId: string,
    options: Omit<LeaseKeeperOptions, 'leaseSentAt'>,
  ): Promise<LeaseKeeper | null> {
    const scheduler = options.scheduler ?? systemLeaseScheduler;
    const leaseSentAt = scheduler.now();
    const lease = await repository.acquire(locationId, ownerId, options.ttlMs);
    if (!lease) return null;
    return new LeaseKeeper(repository, lease, { ...options, scheduler, leaseSentAt }).start();
  }

  /** The lease as last confirmed by the database. */
  get lease(): Lease {
    return this.current;
  }

  get locationId(): string {
    return this.current.locationId;
  }

  get epoch(): number {
    return this.current.epoch;
  }

  /** Monotonic time after which the lease is no longer trusted (unless a renewal is confirmed first). */
  get deadline(): number {
    return this.confirmedSentAt + this.ttlMs - this.safetyMarginMs;
  }

  /** Whether the socket may be used: not lost, not stopped, and the local deadline not passed. */
  isValid(): boolean {
    return this.started && !this.lost && !this.stopped && this.scheduler.now() < this.deadline;
  }

  start(): this {
    if (this.started) throw new Error('lease keeper already started');
    if (this.stopped) throw new Error('lease keeper was stopped');
    this.started = true;
    this.armDeadline();
    if (!this.lost) this.armRenew(this.renewEveryMs);
    return this;
  }

  /** Stops renewing and watching; `onLost` will not be called after this. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
  }

  private get done(): boolean {
    return this.lost || this.stopped;
  }

  private armRenew(delayMs: number): void {
    if (this.renewTimer !== undefined) this.scheduler.clearTimeout(this.renewTimer);
    this.nextRenewAt = this.scheduler.now() + delayMs;
    this.renewTimer = this.scheduler.setTimeout(() => this.renewNow(), delayMs);
  }

  private renewNow(): void {
    this.renewTimer = undefined;
    if (this.done) return;
    // Next tick first: the cadence does not wait for this request to answer.
    this.armRenew(this.renewEveryMs);
    const sentAt = this.scheduler.now();
    let pending: Promise<Lease | null>;
    try {
      pending = this.renewer.renew(this.current, this.ttlMs);
    } catch (error) {
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // A throwing onLost surfaces as an unhandled rejection on purpose: that is a bug, and it must be loud.
    void pending.then(
      (lease) => this.renewed(lease, sentAt),
      (error: unknown) => this.renewFailed(error),
    );
  }

  private renewed(lease: Lease | null, sentAt: number): void {
    if (this.done) return;
    if (lease === null) {
      this.lose({
        code: 'not-held',
        message: `lease of ${this.current.locationId} epoch ${this.current.epoch} is no longer held`,
      });
      return;
    }
    // A confirmation after the deadline does not count: the caller may already have been told nothing.
    // (The deadline timer normally gets there first; this covers a timer that fired late.)
    if (this.scheduler.now() >= this.deadline) {
      this.loseUnconfirmed();
      return;
    }
    // Answers can arrive out of order; only a later send moves the deadline forward.
    if (sentAt > this.confirmedSentAt) {
      this.confirmedSentAt = sentAt;
      this.current = lease;
      this.lastError = undefined;
      this.armDeadline();
    }
  }

  private renewFailed(error: unknown): void {
    if (this.done) return;
    this.lastError = error instanceof Error ? error.message : String(error);
    try {
      this.options.onRenewError?.(error);
    } catch {
      // A failing log hook must not stop the renewals.
    }
    // Try again sooner than the normal cadence: every confirmed renewal buys another full window.
    if (this.nextRenewAt - this.scheduler.now() > this.retryAfterErrorMs)
      this.armRenew(this.retryAfterErrorMs);
  }

  private armDeadline(): void {
    if (this.deadlineTimer !== undefined) this.scheduler.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    const remaining = this.deadline - this.scheduler.now();
    if (remaining <= 0) {
      this.loseUnconfirmed();
      return;
    }
    this.deadlineTimer = this.scheduler.setTimeout(() => {
      this.deadlineTimer = undefined;
      if (this.done) return;
      // Timers may fire a little early; re-arm for the rest rather than give up too soon.
      this.armDeadline();
    }, remaining);
  }

  private loseUnconfirmed(): void {
    const since = Math.round(this.scheduler.now() - this.confirmedSentAt);
    this.lose({
      code: 'unconfirmed',
      message: `no renewal of ${this.current.locationId} epoch ${this.current.epoch} confirmed for ${since} ms (ttl ${this.ttlMs} ms)`,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    });
  }

  private lose(reason: LeaseLostReason): void {
    if (this.done) return;
    this.lost = true;
    this.clearTimers();
    this.options.onLost(reason);
  }

  private clearTimers(): void {
    if (this.renewTimer !== undefined) this.scheduler.clearTimeout(this.renewTimer);
    if (this.deadlineTimer !== undefined) this.scheduler.clearTimeout(this.deadlineTimer);
    this.renewTimer = undefined;
    this.deadlineTimer = undefined;
    this.nextRenewAt = Number.POSITIVE_INFINITY;
  }
}
