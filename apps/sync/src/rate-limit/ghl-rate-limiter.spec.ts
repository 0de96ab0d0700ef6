import type { SyncConfig } from '@app/config';
import { pino } from 'pino';
import type { RateLimitHeaders } from '../ghl/rate-limit-headers';
import { GhlRateLimiter, RateLimitWaitError } from './ghl-rate-limiter.service';
import type { ReservationState } from './rate-limit.policy';
import type { BucketDefaults, RateLimitRepository } from './rate-limit.repository';

/** The shared bucket as the database would keep it, reduced to what these tests need. */
class FakeRepository {
  intervalMs = 10_000;
  max = 2;
  stamps: number[] = [];
  readonly adjusted: Partial<BucketDefaults>[] = [];

  async reserve(_key: string, want: number): Promise<ReservationState> {
    const now = Date.now();
    this.stamps = this.stamps.filter((stamp) => stamp > now - this.intervalMs);
    const granted = Math.max(0, Math.min(want, this.max - this.stamps.length));
    const oldestMs = this.stamps.length ? Math.min(...this.stamps) : null;
    for (let i = 0; i < granted; i++) this.stamps.push(now);
    return {
      granted,
      nowMs: now,
      oldestMs,
      liveCount: this.stamps.length,
      stamps: [...this.stamps],
      stampMs: now,
      max: this.max,
      intervalMs: this.intervalMs,
      dailyLimit: 200_000,
      dayCount: this.stamps.length,
      blockedUntilMs: null,
    };
  }

  async adjustLimits(_key: string, limits: Partial<BucketDefaults>): Promise<void> {
    this.adjusted.push(limits);
    if (limits.intervalMs) this.intervalMs = limits.intervalMs;
    if (limits.max) this.max = limits.max;
  }

  async correct(): Promise<void> {}
  async restamp(): Promise<void> {}
  async block(): Promise<void> {}
}

function limiterWith(repository: FakeRepository): GhlRateLimiter {
  const config = {
    GHL_RATE_LIMIT_ENABLED: true,
    GHL_RATE_LIMIT_PER_10S: 2,
    GHL_DAILY_LIMIT: 200_000,
  } as SyncConfig;
  return new GhlRateLimiter(repository as unknown as RateLimitRepository, config, pino({ level: 'silent' }));
}

const KEY = 'location:loc-1';

/** GHL's headers on an answer: the same 2 calls, but per 1 s window, none left. */
const ONE_SECOND_WINDOW_FULL: RateLimitHeaders = {
  max: 2,
  remaining: 0,
  intervalMs: 1_000,
  dailyLimit: null,
  dailyRemaining: null,
};

describe('GhlRateLimiter', () => {
  it('refuses a caller once the window is full, saying when its slot is free', async () => {
    const repository = new FakeRepository();
    const limiter = limiterWith(repository);
    await limiter.acquire(KEY);
    await limiter.acquire(KEY);
    const refusal = await limiter.acquire(KEY).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RateLimitWaitError);
    expect((refusal as RateLimitWaitError).retryAfterMs).toBeGreaterThan(9_000);
    expect(() => limiter.precheck(KEY)).toThrow(RateLimitWaitError);
  });

  it("drops a wait worked out under the configured 10 s window once GHL's headers name a 1 s window", async () => {
    const repository = new FakeRepository();
    const limiter = limiterWith(repository);
    await limiter.acquire(KEY);
    await limiter.acquire(KEY);
    await expect(limiter.acquire(KEY)).rejects.toBeInstanceOf(RateLimitWaitError);

    await limiter.observe(KEY, ONE_SECOND_WINDOW_FULL);
    expect(repository.adjusted).toEqual([expect.objectContaining({ intervalMs: 1_000 })]);
    // No longer refused from memory for the rest of the old 10 s: the next caller asks the shared
    // bucket, which now counts a 1 s window.
    expect(() => limiter.precheck(KEY)).not.toThrow();
    repository.stamps = repository.stamps.map((stamp) => stamp - 1_500);
    await expect(limiter.acquire(KEY)).resolves.toMatchObject({ resourceKey: KEY });
  });

  it('keeps a 429 block when the window changes (GHL said when to come back)', async () => {
    const repository = new FakeRepository();
    const limiter = limiterWith(repository);
    await limiter.penalize(KEY, 5_000);
    await limiter.observe(KEY, ONE_SECOND_WINDOW_FULL);
    expect(() => limiter.precheck(KEY)).toThrow(/blocked/);
  });
});
