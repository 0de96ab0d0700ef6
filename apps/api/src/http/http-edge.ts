import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ApiConfig } from '@app/config';
import { CORRELATION_HEADER } from '@app/observability';
import type { Express, NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { AllowedOrigins } from './allowed-origins';
import { httpMetricsMiddleware } from './http.metrics';

/** JSON bodies of the API: commands and short texts; anything bigger is a mistake or an attack. */
export const API_BODY_LIMIT_BYTES = 64 * 1024;
/** GHL webhooks: an INSTALL or a provider message with a long text and attachment URLs. */
export const WEBHOOK_BODY_LIMIT_BYTES = 256 * 1024;

const CORRELATION_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's exact bytes, kept for webhook signature checks (a re-serialised body would not verify). */
export type RawBodyRequest = Request & { rawBody?: Buffer };

/**
 * Everything the api does to a request before Nest routes it: a correlation id from the first byte
 * (so even a 413 from the body parser carries one), security headers, CORS for GHL's origins only,
 * the raw webhook body, body size limits and metrics. Called from `main.ts` and by the tests, so both
 * run the same edge.
 */
export function configureHttpEdge(nestApp: INestApplication, config: ApiConfig): void {
  const app = nestApp as NestExpressApplication;
  const express: Express = app.getHttpAdapter().getInstance();
  express.disable('x-powered-by');
  express.set('trust proxy', config.HTTP_TRUST_PROXY_HOPS);
  const origins = new AllowedOrigins(config.GHL_WHITELABEL_ORIGINS);
  const https = config.PUBLIC_BASE_URL.startsWith('https://');

  app.use(correlation);
  app.use(httpMetricsMiddleware);
  app.use(securityHeaders(https));
  app.use(['/api', '/docs'], cors(origins));
  app.use('/webhooks', rawBody(WEBHOOK_BODY_LIMIT_BYTES));
  app.use('/api', jsonBodiesOnly);
  app.useBodyParser('json', { limit: API_BODY_LIMIT_BYTES });
  app.useBodyParser('urlencoded', { limit: 16 * 1024, extended: false });
}

function correlation(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.header(CORRELATION_HEADER);
  const id = incoming && CORRELATION_PATTERN.test(incoming) ? incoming : randomUUID();
  // The observability middleware runs later and keeps a sane incoming id: give it ours.
  req.headers[CORRELATION_HEADER] = id;
  res.setHeader(CORRELATION_HEADER, id);
  next();
}

/**
 * Defaults for every answer. JSON and images never need to run scripts or be framed; the dashboard
 * and the OAuth pages set their own `Content-Security-Policy` (and the dashboard drops
 * `X-Frame-Options`, since GHL frames it).
 */
function securityHeaders(https: boolean) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin-allow-popups');
    if (https) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    next();
  };
}

/** CORS for GHL's origins only; no cookies are used, so no credentials mode is offered. */
function cors(origins: AllowedOrigins) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.header('origin');
    const allowed = origins.allows(origin);
    if (allowed && origin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', `${CORRELATION_HEADER}, retry-after`);
    }
    res.append('Vary', 'Origin');
    if (req.method === 'OPTIONS' && req.header('access-control-request-method')) {
      if (!allowed) {
        res.status(403).json({
          code: 'cors_origin_refused',
          message: 'this origin may not call the API from a browser',
          correlationId: res.getHeader(CORRELATION_HEADER),
        });
        return;
      }
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE');
      res.setHeader('Access-Control-Allow-Headers', `authorization, content-type, ${CORRELATION_HEADER}`);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

/**
 * The api reads JSON only. A body of another type would never be parsed and reach the handler as
 * missing ("invalid body: … required"), which points the client at the wrong problem: say what is wrong.
 */
function jsonBodiesOnly(req: Request, _res: Response, next: NextFunction): void {
  // An empty body (`Content-Length: 0`, what browsers send for a bare POST) needs no type; otherwise
  // `req.is` is `false` when the body comes in a type the JSON parser does not read.
  if (req.header('content-length') === '0' || req.is('application/json') !== false) return next();
  next(
    Object.assign(
      new Error(
        `the body must be JSON (Content-Type: application/json), not ${(req.header('content-type') ?? 'untyped').slice(0, 100)}`,
      ),
      {
        status: 415,
        expose: true,
        type: 'unsupported.media.type',
      },
    ),
  );
}

function tooLarge(limit: number): Error {
  return Object.assign(new Error(`the request body is larger than ${limit / 1024} KB`), {
    status: 413,
    expose: true,
    type: 'entity.too.large',
  });
}

/**
 * Reads webhook bodies as bytes (signatures are over the exact bytes) with a size bound. Once the
 * stream is consumed the JSON parser leaves the request alone; the controller parses the bytes.
 */
function rawBody(limit: number) {
  return (req: RawBodyRequest, _res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' && req.method !== 'PUT') return next();
    const declared = Number(req.header('content-length'));
    if (Number.isFinite(declared) && declared > limit) return next(tooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) {
        // Keep reading (and discarding) so the client gets our answer instead of a reset socket.
        req.removeAllListeners('data');
        req.resume();
        return next(err);
      }
      req.rawBody = Buffer.concat(chunks);
      next();
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(tooLarge(limit));
      else chunks.push(chunk);
    });
    req.once('end', () => settle());
    req.once('error', (err) => settle(err));
  };
}
