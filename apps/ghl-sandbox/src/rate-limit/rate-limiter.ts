import type { SandboxSettingsDto } from '@app/ghl-sandbox-client/admin-api.types';

export interface RateLimitVerdict {
  allowed: boolean;
  headers: Record<string, string>;
}

const DAY_MS = 86_400_000;

/**
 * GHL's per-app, per-resource limits (GHL-CONTRACT §7): `max` requests in any sliding `intervalMs`
 * window (100 / 10 s) and `daily` per UTC day (200k), each resource (location or company) with its own
 * buckets. Every API answer carries the five documented headers. Rejected requests do not consume.
 */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();
  private readonly days = new Map<string, { day: number; count: number }>();

  constructor(private readonly settings: SandboxSettingsDto) {}

  reset(): void {
    this.windows.clear();
    this.days.clear();
  }

  take(key: string, now = Date.now()): RateLimitVerdict {
    const { max, intervalMs, daily } = this.settings.rateLimit;
    const recent = (this.windows.get(key) ?? []).filter((t) => t > now - intervalMs);
    const day = Math.floor(now / DAY_MS);
    const today = this.days.get(key);
    const usedToday = today && today.day === day ? today.count : 0;
    const allowed = recent.length < max && usedToday < daily;
    if (allowed) {
      recent.push(now);
      this.days.set(key, { day, count: usedToday + 1 });
    }
    this.windows.set(key, recent);
    return {
      allowed,
      headers: this.headers(recent.length, allowed ? usedToday + 1 : usedToday, now, allowed ? null : recent),
    };
  }

  /** The headers of a forced 429 (fault injection): nothing left in the window. */
  exhaustedHeaders(key: string, now = Date.now()): Record<string, string> {
    const day = Math.floor(now / DAY_MS);
    const today = this.days.get(key);
    return this.headers(this.settings.rateLimit.max, today && today.day === day ? today.count : 0, now, [
      now,
    ]);
  }

  /** `rejectedWindow`: the window's timestamps when the request is refused, null when it passes. */
  private headers(
    inWindow: number,
    usedToday: number,
    now: number,
    rejectedWindow: number[] | null,
  ): Record<string, string> {
    const { max, intervalMs, daily, retryAfterHeader } = this.settings.rateLimit;
    const headers: Record<string, string> = {
      'X-RateLimit-Limit-Daily': String(daily),
      'X-RateLimit-Daily-Remaining': String(Math.max(0, daily - usedToday)),
      'X-RateLimit-Interval-Milliseconds': String(intervalMs),
      'X-RateLimit-Max': String(max),
      'X-RateLimit-Remaining': String(Math.max(0, max - inWindow)),
    };
    // Only for a burst refusal; a spent daily budget has no documented reset time.
    if (retryAfterHeader && rejectedWindow && inWindow >= max && rejectedWindow.length > 0) {
      headers['Retry-After'] = String(Math.max(1, Math.ceil((rejectedWindow[0] + intervalMs - now) / 1000)));
    }
    return headers;
  }
}
