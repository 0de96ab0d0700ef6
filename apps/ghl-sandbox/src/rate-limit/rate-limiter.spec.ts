import type { SandboxSettingsDto } from '@app/ghl-sandbox-client/admin-api.types';
import { RateLimiter } from './rate-limiter';

function limiter(rateLimit: Partial<SandboxSettingsDto['rateLimit']> = {}): RateLimiter {
  return new RateLimiter({
    rateLimit: { max: 3, intervalMs: 1_000, daily: 10, retryAfterHeader: false, ...rateLimit },
  } as SandboxSettingsDto);
}

describe('RateLimiter', () => {
  it('allows max per sliding window and refuses the next, counting remaining down', () => {
    const l = limiter();
    const verdicts = [0, 100, 200, 300].map((t) => l.take('loc', 10_000 + t));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, false]);
    expect(verdicts.map((v) => v.headers['X-RateLimit-Remaining'])).toEqual(['2', '1', '0', '0']);
    // The first request leaves the window at +1000 ms: one slot again.
    expect(l.take('loc', 11_001).allowed).toBe(true);
    expect(l.take('loc', 11_002).allowed).toBe(false);
  });

  it('refused requests do not consume', () => {
    const l = limiter({ max: 1 });
    expect(l.take('a', 0).allowed).toBe(true);
    for (let i = 1; i < 50; i++) expect(l.take('a', i).allowed).toBe(false);
    expect(l.take('a', 1_001).allowed).toBe(true);
    expect(l.take('a', 1_002).headers['X-RateLimit-Daily-Remaining']).toBe('8');
  });

  it('keeps separate buckets per resource', () => {
    const l = limiter({ max: 1 });
    expect(l.take('a', 0).allowed).toBe(true);
    expect(l.take('b', 0).allowed).toBe(true);
    expect(l.take('a', 1).allowed).toBe(false);
  });

  it('applies the daily budget per UTC day', () => {
    const l = limiter({ max: 100, daily: 2 });
    const day = 86_400_000;
    expect(l.take('a', day * 5).allowed).toBe(true);
    expect(l.take('a', day * 5 + 1).allowed).toBe(true);
    expect(l.take('a', day * 5 + 2).allowed).toBe(false);
    expect(l.take('a', day * 6).allowed).toBe(true);
  });

  it('sends Retry-After only on a refused burst, when enabled', () => {
    const l = limiter({ max: 1, retryAfterHeader: true });
    expect(l.take('a', 0).headers['Retry-After']).toBeUndefined();
    expect(l.take('a', 400).headers['Retry-After']).toBe('1');
  });
});
