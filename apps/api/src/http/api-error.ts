/**
 * Every refusal the api gives: an HTTP status and a stable `code` that clients switch on (the message
 * is for people and may change). Services and guards throw it; `ApiExceptionFilter` writes it as
 * `{ code, message, correlationId, ... }`.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: {
      /** Field-level problems of a rejected input. */
      details?: { path: string; message: string }[];
      /** Seconds; sent as `Retry-After`. */
      retryAfterSeconds?: number;
      /** Whether the same request may succeed later. */
      retryable?: boolean;
    } = {},
  ) {
    super(message);
  }

  static badRequest(code: string, message: string, details?: { path: string; message: string }[]): ApiError {
    return new ApiError(400, code, message, { details });
  }

  static unauthorized(message = 'a valid credential is required: Authorization: Bearer <key or session>') {
    return new ApiError(401, 'unauthorized', message);
  }

  static forbidden(code: string, message: string): ApiError {
    return new ApiError(403, code, message);
  }

  static notFound(code: string, message: string): ApiError {
    return new ApiError(404, code, message);
  }
}
