import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { withCorrelation } from './correlation';

export const CORRELATION_HEADER = 'x-correlation-id';

/**
 * Gives every HTTP request a correlation id (the caller's, when it sent a sane one), echoes it in the
 * response so a user can quote it to support, and scopes it for the logs of everything the request does.
 */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const incoming = req.header(CORRELATION_HEADER);
    const correlationId = incoming && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader(CORRELATION_HEADER, correlationId);
    (req as Request & { correlationId?: string }).correlationId = correlationId;
    withCorrelation(correlationId, next);
  }
}
