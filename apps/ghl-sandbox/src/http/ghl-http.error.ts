/**
 * An answer other than success. Handlers throw it; the dispatcher writes `status` and `body` as they
 * are. The factories produce the bodies of GHL-CONTRACT §1 (common-schemas.json DTOs).
 */
export class GhlHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`GHL ${status}: ${JSON.stringify(body)}`);
    this.name = 'GhlHttpError';
  }

  /** BadRequestDTO: `{"statusCode":400,"message":"Bad Request"}`. */
  static badRequest(message: string, extra: Record<string, unknown> = {}): GhlHttpError {
    return new GhlHttpError(400, { statusCode: 400, message, ...extra });
  }

  /** UnauthorizedDTO: `{"statusCode":401,"message":"…","error":"Unauthorized"}`. */
  static unauthorized(message: string): GhlHttpError {
    return new GhlHttpError(401, { statusCode: 401, message, error: 'Unauthorized' });
  }

  /** §1: `{"statusCode":403,"message":"The token does not have access to this location"}`. */
  static forbidden(message: string): GhlHttpError {
    return new GhlHttpError(403, { statusCode: 403, message });
  }

  /** UnprocessableDTO with class-validator messages (§1, ISSUE #262). */
  static unprocessable(messages: string[]): GhlHttpError {
    return new GhlHttpError(422, { statusCode: 422, message: messages, error: 'Unprocessable Entity' });
  }

  /** NestJS's default for an unknown route. */
  static routeNotFound(method: string, path: string): GhlHttpError {
    return new GhlHttpError(404, {
      statusCode: 404,
      message: `Cannot ${method} ${path}`,
      error: 'Not Found',
    });
  }

  /** §4.2 pitfall (ISSUE #6): what GHL answers for an unknown provider id or a server fault. */
  static internal(): GhlHttpError {
    return new GhlHttpError(500, { statusCode: 500, message: 'Internal server error' });
  }
}

export const MESSAGES = {
  invalidJwt: 'Invalid JWT',
  versionMissing: 'version header was not found.',
  versionInvalid: 'version header is invalid',
  scopeMissing: 'The token is not authorized for this scope.',
  userTypeMismatch:
    'This authClass type is not allowed to access this scope. Please reach out to the Platform team to get it added.',
  noLocationAccess: 'The token does not have access to this location',
  tooManyRequests: 'Too Many Requests',
} as const;
