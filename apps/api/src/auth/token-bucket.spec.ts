import { TokenBucketLimiter } from './token-bucket';

describe('TokenBucketLimiter', () => {
  it('lets a burst through, then refuses with the wait until the next token', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter(2, 3, () => now);
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterMs: 500 });
    now += 250;
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterMs: 250 });
    now += 250;
    expect(limiter.take('a')).toEqual({ ok: true, remaining: 0 });
  });

  it('keeps one bucket per key, so one caller cannot starve another', () => {
    const limiter = new TokenBucketLimiter(1, 1, () => 0);
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
    expect(limiter.take('b').ok).toBe(true);
  });

  it('refills at the configured rate but never above the burst', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter(10, 5, () => now);
    for (let i = 0; i < 5; i++) limiter.take('k');
    now += 60_000;
    const results = Array.from({ length: 6 }, () => limiter.take('k').ok);
    expect(results).toEqual([true, true, true, true, true, false]);
  });

  it('refuses nonsense settings', () => {
    expect(() => new TokenBucketLimiter(0, 1)).toThrow();
    expect(() => new TokenBucketLimiter(1, 0)).toThrow();
  });
});
