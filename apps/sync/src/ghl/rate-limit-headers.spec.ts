import { parseRateLimitHeaders, retryAfterMs } from './rate-limit-headers';

describe('GHL rate-limit headers', () => {
  const headers = {
    'x-ratelimit-limit-daily': '200000',
    'x-ratelimit-daily-remaining': '199990',
    'x-ratelimit-interval-milliseconds': '10000',
    'x-ratelimit-max': '100',
    'x-ratelimit-remaining': '7',
  };

  it('reads the five documented headers as numbers', () => {
    expect(parseRateLimitHeaders(headers)).toEqual({
      max: 100,
      remaining: 7,
      intervalMs: 10_000,
      dailyLimit: 200_000,
      dailyRemaining: 199_990,
    });
  });

  it('is null without any of them and ignores garbage', () => {
    expect(parseRateLimitHeaders({ 'content-type': 'application/json' })).toBeNull();
    expect(parseRateLimitHeaders({ 'x-ratelimit-max': 'lots' })).toBeNull();
  });

  it('honours Retry-After in seconds or as a date, else the interval, else the fallback', () => {
    const limits = parseRateLimitHeaders(headers);
    expect(retryAfterMs({ 'retry-after': '3' }, limits, 1)).toBe(3_000);
    expect(
      retryAfterMs(
        { 'retry-after': 'Sat, 21 Nov 2026 10:00:05 GMT' },
        limits,
        1,
        Date.parse('2026-11-21T10:00:00Z'),
      ),
    ).toBe(5_000);
    expect(retryAfterMs({}, limits, 1)).toBe(10_000);
    expect(retryAfterMs({}, null, 42)).toBe(42);
  });
});
