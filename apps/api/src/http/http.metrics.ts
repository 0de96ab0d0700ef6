import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram } from 'prom-client';

/** Route pattern, never the raw path: a location id in a label would make one series per tenant. */
export const httpMetrics = {
  requests: new Counter({
    name: 'api_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
  }),
  duration: new Histogram({
    name: 'api_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (until the last byte for normal answers; the whole stream for SSE)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  sseClients: new Counter({
    name: 'api_sse_connections_total',
    help: 'Dashboard event streams opened',
  }),
};

/** Records one observation per answered request, labelled by the route Express matched. */
export function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const route = (req.route as { path?: string } | undefined)?.path;
    const labels = {
      method: req.method,
      route: typeof route === 'string' ? route : 'unmatched',
      status: String(res.statusCode),
    };
    httpMetrics.requests.inc(labels);
    httpMetrics.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  });
  next();
}
