import type { RateLimitHeaders } from './rate-limit-headers';

/** How a failed GHL call is handled; callers switch on it exhaustively. */
export type GhlErrorKind = 'token_invalid' | 'rate_limited' | 'transient' | 'permanent';

/** Longest part of a GHL answer kept on an error (it goes into logs and dead-letter reasons). */
const MAX_BODY_CHARS = 500;

export abstract class GhlError extends Error {
  abstract readonly kind: GhlErrorKind;

  constructor(
    /** The operation, as in the `endpoint` metric label (`contacts.upsert`, ...). */
    readonly endpoint: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** 401: the access token is unknown, expired or revoked (or a Private Integration token was rotated). */
export class GhlTokenInvalidError extends GhlError {
  override readonly name = 'GhlTokenInvalidError';
  readonly kind = 'token_invalid';

  constructor(
    endpoint: string,
    readonly body: string,
  ) {
    super(endpoint, `GHL ${endpoint} answered 401: ${body}`);
  }
}

/** 429: wait `retryAfterMs` (from `Retry-After`, else the rate-limit interval) before the next call. */
export class GhlRateLimitedError extends GhlError {
  override readonly name = 'GhlRateLimitedError';
  readonly kind = 'rate_limited';

  constructor(
    endpoint: string,
    readonly retryAfterMs: number,
    readonly rateLimit: RateLimitHeaders | null,
  ) {
    super(endpoint, `GHL ${endpoint} answered 429; retry in ${retryAfterMs} ms`);
  }
}

/**
 * 5xx, a timeout or a network failure: trying again later may work. `ambiguous` says the request may
 * have reached GHL and taken effect (no answer, or a 5xx), so a write must be reconciled, not repeated
 * blindly.
 */
export class GhlTransientError extends GhlError {
  override readonly name = 'GhlTransientError';
  readonly kind = 'transient';

  constructor(
    endpoint: string,
    message: string,
    readonly status: number | null,
    readonly ambiguous: boolean,
    options: { cause?: unknown } = {},
  ) {
    super(endpoint, message, options);
  }
}

/** Any other 4xx (or an answer we cannot read): retrying the same request cannot help. */
export class GhlPermanentError extends GhlError {
  override readonly name = 'GhlPermanentError';
  readonly kind = 'permanent';

  constructor(
    endpoint: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(endpoint, `GHL ${endpoint} answered ${status}: ${body}`);
  }

  /** GHL's `message` field (a string, or class-validator's list joined), for matching known answers. */
  get ghlMessage(): string {
    return ghlMessageOf(this.body);
  }
}

export function isGhlError(error: unknown): error is GhlError {
  return error instanceof GhlError;
}

/** The body as one line of bounded text: it ends up in logs and dead-letter headers. */
export function bodyText(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? null);
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= MAX_BODY_CHARS ? line : `${line.slice(0, MAX_BODY_CHARS - 1)}…`;
}

export function ghlMessageOf(bodyTextValue: string): string {
  try {
    const parsed = JSON.parse(bodyTextValue) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
    if (Array.isArray(parsed.message)) return parsed.message.map(String).join('; ');
  } catch {
    // not JSON (truncated or text): match on the text itself
  }
  return bodyTextValue;
}

/** Every concrete GHL error, discriminated by `kind` for exhaustive switches. */
export type AnyGhlError = GhlTokenInvalidError | GhlRateLimitedError | GhlTransientError | GhlPermanentError;
