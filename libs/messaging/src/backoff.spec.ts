import { backoffDelayMs, backoffPolicy, DEFAULT_BACKOFF_MS } from './backoff';

describe('backoffDelayMs', () => {
  const exact = backoffPolicy([100, 200, 400], 0);

  it('walks the list by failed delivery and repeats the last delay', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelayMs(n, exact))).toEqual([100, 200, 400, 400, 400]);
  });

  it('treats attempt numbers below 1 as the first attempt', () => {
    expect(backoffDelayMs(0, exact)).toBe(100);
    expect(backoffDelayMs(-3, exact)).toBe(100);
  });

  it('spreads each delay by at most ±jitter', () => {
    const jittery = backoffPolicy([1_000], 0.2);
    expect(backoffDelayMs(1, jittery, () => 0)).toBe(800);
    expect(backoffDelayMs(1, jittery, () => 0.5)).toBe(1_000);
    expect(backoffDelayMs(1, jittery, () => 0.999_999)).toBe(1_200);
  });

  it('keeps consecutive default delays growing even at the worst jitter', () => {
    const policy = backoffPolicy();
    for (let n = 1; n < DEFAULT_BACKOFF_MS.length; n++) {
      expect(backoffDelayMs(n + 1, policy, () => 0)).toBeGreaterThan(
        backoffDelayMs(n, policy, () => 0.999_999),
      );
    }
  });

  it('rejects unusable policies', () => {
    expect(() => backoffPolicy([])).toThrow(/at least one/);
    expect(() => backoffPolicy([100, -1])).toThrow(/>= 0/);
    expect(() => backoffPolicy([100], 1.5)).toThrow(/jitter/);
  });
});
