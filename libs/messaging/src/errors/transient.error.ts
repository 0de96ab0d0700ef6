/**
 * Thrown by a consumer handler when the failure may pass (a timeout, a 5xx, a 429 from GHL). The
 * message is redelivered with backoff; `retryAfterMs` (e.g. from a `Retry-After` header) replaces
 * the computed delay.
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}
