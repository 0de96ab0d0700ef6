/** GHL's documented rate-limit headers (GHL-CONTRACT §7), as numbers. */
export interface RateLimitHeaders {
  max: number | null;
  remaining: number | null;
  intervalMs: number | null;
  dailyLimit: number | null;
  dailyRemaining: number | null;
}

type HeaderValue = string | string[] | undefined;
export type HeaderBag = Record<string, HeaderValue>;

function numberHeader(headers: HeaderBag, name: string): number | null {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Reads the five headers (names are lower case, as node delivers them); null when none is present. */
export function parseRateLimitHeaders(headers: HeaderBag): RateLimitHeaders | null {
  const parsed: RateLimitHeaders = {
    max: numberHeader(headers, 'x-ratelimit-max'),
    remaining: numberHeader(headers, 'x-ratelimit-remaining'),
    intervalMs: numberHeader(headers, 'x-ratelimit-interval-milliseconds'),
    dailyLimit: numberHeader(headers, 'x-ratelimit-limit-daily'),
    dailyRemaining: numberHeader(headers, 'x-ratelimit-daily-remaining'),
  };
  return Object.values(parsed).every((v) => v === null) ? null : parsed;
}

/**
 * How long a 429 asks us to wait: `Retry-After` (seconds or an HTTP date) when present, else the
 * rate-limit interval (GHL documents no reset header), else `fallbackMs`.
 */
export function retryAfterMs(
  headers: HeaderBag,
  rateLimit: RateLimitHeaders | null,
  fallbackMs: number,
  now = Date.now(),
): number {
  const raw = headers['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value !== undefined && value.trim() !== '') {
    const seconds = Number(value);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
    const at = Date.parse(value);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  return rateLimit?.intervalMs ?? fallbackMs;
}
