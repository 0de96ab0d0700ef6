import { BeforeApplicationShutdown, Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { EventEnvelope } from '@app/contracts';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { API_LOGGER } from '../api.tokens';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { httpMetrics } from '../http/http.metrics';
import { parseInput } from '../http/zod-input';
import { locationParamsSchema } from '../locations/locations.schemas';
import { DashboardStreamService, type StreamMessage } from './dashboard-stream.service';
import { LocationEventHub } from './location-event-hub';

// Comment lines keep proxies and load balancers from closing an idle stream (most cut at 30-60 s).
const HEARTBEAT_MS = 15_000;
// Several state events arrive together (state_changed + ready); one status read answers them all.
const STATUS_COALESCE_MS = 30;

/**
 * `GET /api/locations/:locationId/events/stream`: server-sent events for the dashboard. A snapshot
 * first (status, live QR, recent events), then live updates from NATS. A dashboard session's stream
 * ends when the session expires; the page reconnects with a fresh one.
 */
@Controller('api/locations/:locationId/events')
export class DashboardStreamController implements BeforeApplicationShutdown {
  private readonly logger: Logger;
  /** Open streams, ended at shutdown: an SSE response never ends by itself and would hold the server open. */
  private readonly streams = new Set<(why: string) => void>();

  constructor(
    private readonly hub: LocationEventHub,
    private readonly stream: DashboardStreamService,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'dashboard-stream' });
  }

  @Get('stream')
  async open(
    @Param() params: unknown,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const { locationId } = parseInput(locationParamsSchema, params, 'path');
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    httpMetrics.sseClients.inc();

    let closed = false;
    let chain: Promise<void> = Promise.resolve();
    let statusTimer: NodeJS.Timeout | undefined;
    // Frames are written strictly in order; QR rendering is async, so every send goes through the chain.
    const send = (work: () => Promise<StreamMessage[]>) => {
      chain = chain
        .then(async () => {
          if (closed) return;
          for (const message of await work()) if (!closed) res.write(frame(message));
        })
        .catch((err: unknown) => this.logger.warn({ err, locationId }, 'dashboard stream frame failed'));
    };
    const onEvent = (event: EventEnvelope) => {
      send(() => this.stream.messagesFor(event));
      if (this.stream.needsStatus(event) && !statusTimer) {
        statusTimer = setTimeout(() => {
          statusTimer = undefined;
          send(async () => [await this.stream.status(locationId)]);
        }, STATUS_COALESCE_MS);
      }
    };

    // Subscribe before reading the snapshot, and queue live events behind it: nothing falls in between.
    const unsubscribe = this.hub.subscribe(locationId, onEvent);
    send(async () => {
      await this.hub.flush();
      return [await this.stream.snapshot(locationId)];
    });

    const heartbeat = setInterval(() => {
      if (!closed) res.write(': ping\n\n');
    }, HEARTBEAT_MS);
    const expiry =
      principal.kind === 'location' && principal.via === 'dashboard'
        ? setTimeout(() => close('session expired'), Math.max(0, principal.expiresAt.getTime() - Date.now()))
        : undefined;
    const close = (why: string) => {
      if (closed) return;
      closed = true;
      this.streams.delete(close);
      clearInterval(heartbeat);
      clearTimeout(expiry);
      clearTimeout(statusTimer);
      unsubscribe();
      this.logger.debug({ locationId, why }, 'dashboard stream closed');
      if (!res.writableEnded) {
        if (why === 'session expired') res.write(frame({ event: 'expired', data: {} }));
        res.end();
      }
    };
    this.streams.add(close);
    res.once('close', () => close('client left'));
  }

  /** Pages reconnect by themselves (to another replica during a rolling update). */
  beforeApplicationShutdown(): void {
    for (const close of [...this.streams]) close('server shutting down');
  }
}

function frame(message: StreamMessage | { event: 'expired'; data: object }): string {
  const id = 'id' in message ? `id: ${message.id}\n` : '';
  return `${id}event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`;
}
