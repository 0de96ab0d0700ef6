import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { BusUnavailableError } from '@app/messaging';
import { CORRELATION_HEADER } from '@app/observability';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { API_LOGGER } from '../api.tokens';
import { ApiError } from './api-error';

export interface ErrorBody {
  code: string;
  message: string;
  correlationId: string;
  details?: { path: string; message: string }[];
  retryable?: boolean;
}

/** Stable codes for statuses that reach us as framework errors rather than `ApiError`s. */
function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    default:
      return status >= 500 ? 'internal' : 'bad_request';
  }
}

/** body-parser's errors carry a status and `expose` when their message is safe to show. */
function isExposedHttpError(err: unknown): err is { status: number; message: string; type?: string } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { status?: unknown; expose?: unknown };
  return typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true;
}

/**
 * The one shape of every error answer: `{ code, message, correlationId }` (plus `details` for bad input),
 * with the correlation id also in the `x-correlation-id` header, so a user can quote it to support and
 * an operator can find every log line of the request.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(@Inject(API_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const correlationId = String(res.getHeader(CORRELATION_HEADER) ?? req.header(CORRELATION_HEADER) ?? '');
    const { status, body, retryAfterSeconds } = this.toAnswer(exception, correlationId, req);
    if (res.headersSent) {
      // A stream (SSE) already started: nothing can be said any more but the end.
      res.end();
      return;
    }
    if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).json(body);
  }

  private toAnswer(
    exception: unknown,
    correlationId: string,
    req: Request,
  ): { status: number; body: ErrorBody; retryAfterSeconds?: number } {
    if (exception instanceof ApiError) {
      const body: ErrorBody = { code: exception.code, message: exception.message, correlationId };
      if (exception.extra.details) body.details = exception.extra.details;
      if (exception.extra.retryable !== undefined) body.retryable = exception.extra.retryable;
      if (exception.status >= 500) {
        this.logger.warn(
          { code: exception.code, status: exception.status, path: req.path },
          exception.message,
        );
      }
      return { status: exception.status, body, retryAfterSeconds: exception.extra.retryAfterSeconds };
    }
    if (exception instanceof BusUnavailableError) {
      this.logger.warn({ err: exception, path: req.path }, 'request failed: the bus is unavailable');
      return {
        status: 503,
        body: {
          code: 'bus_unavailable',
          message: 'the message bus is not answering; try again shortly',
          correlationId,
          retryable: true,
        },
        retryAfterSeconds: 5,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const message =
        status === 400 && exception.message.includes('JSON')
          ? `the body is not valid JSON: ${exception.message}`
          : exception.message;
      return { status, body: { code: codeForStatus(status), message, correlationId } };
    }
    if (isExposedHttpError(exception)) {
      const code =
        exception.type === 'entity.too.large' ? 'payload_too_large' : codeForStatus(exception.status);
      return { status: exception.status, body: { code, message: exception.message, correlationId } };
    }
    this.logger.error({ err: exception, path: req.path, method: req.method }, 'unhandled error in a request');
    return {
      status: 500,
      body: {
        code: 'internal',
        message: 'something went wrong on our side; contact support with the correlation id',
        correlationId,
      },
    };
  }
}
