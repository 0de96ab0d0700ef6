import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@app/contracts';
import { LocationReadRepository } from '../locations/location-read.repository';
import { toLocationStatus } from '../locations/location-status';
import type { LocationStatus } from '../locations/locations.schemas';
import { RecentEventsService } from '../locations/recent-events.service';
import { summarizeEvent, TIMELINE_EVENT_TYPES, type EventSummary } from '../locations/event-summary';
import { QrRenderer } from '../qr/qr-renderer';

/** What a dashboard receives over its event stream. */
export type StreamMessage =
  | {
      event: 'snapshot';
      data: { status: LocationStatus; qr: QrFrame | null; events: EventSummary[] };
    }
  | { event: 'status'; data: LocationStatus }
  | { event: 'qr'; id: string; data: QrFrame }
  | { event: 'pairing_code'; id: string; data: { phone: string; code: string; expiresAt: string } }
  | { event: 'timeline'; id: string; data: EventSummary };

export interface QrFrame {
  eventId: string | null;
  attempt: number | null;
  /** When the worker published it (null in a snapshot read from the database). */
  occurredAt: string | null;
  expiresAt: string;
  /** Seconds left when the frame was built, by the clock of whoever built it. */
  lifetimeSeconds: number;
  svg: string;
}

// Events after which the status (read from the projection) is worth sending again.
const STATUS_EVENTS = new Set<string>([
  'session.state_changed',
  'session.ready',
  'session.disconnected',
  'session.logged_out',
  'installation.changed',
  'ghl.reauth_required',
  'ghl.token_refreshed',
]);
const SVG_CACHE_SIZE = 256;

/**
 * Turns a location's stored state and live events into what the page shows. QR events are rendered
 * straight from the event (no database round trip: that is the latency that matters while someone holds
 * a phone up); state changes re-read the projection, which the owner writes before it publishes.
 */
@Injectable()
export class DashboardStreamService {
  private readonly svgCache = new Map<string, string>();

  constructor(
    private readonly reads: LocationReadRepository,
    private readonly recent: RecentEventsService,
    private readonly renderer: QrRenderer,
  ) {}

  async snapshot(locationId: string): Promise<StreamMessage> {
    const [snapshot, events] = await Promise.all([
      this.reads.snapshot(locationId),
      this.recent.recent(locationId, 15),
    ]);
    const session = snapshot.session;
    let qr: QrFrame | null = null;
    if (session?.qrLive && session.qr && session.qrExpiresAt) {
      qr = {
        eventId: null,
        attempt: null,
        occurredAt: null,
        expiresAt: session.qrExpiresAt.toISOString(),
        lifetimeSeconds: Math.max(0, (session.qrExpiresAt.getTime() - snapshot.dbNow.getTime()) / 1000),
        svg: await this.svg(session.qr),
      };
    }
    return { event: 'snapshot', data: { status: toLocationStatus(snapshot), qr, events } };
  }

  async status(locationId: string): Promise<StreamMessage> {
    return { event: 'status', data: toLocationStatus(await this.reads.snapshot(locationId)) };
  }

  needsStatus(event: EventEnvelope): boolean {
    return STATUS_EVENTS.has(event.type);
  }

  /** The immediate messages for one event (the status refresh is scheduled by the caller). */
  async messagesFor(event: EventEnvelope): Promise<StreamMessage[]> {
    const out: StreamMessage[] = [];
    if (event.type === 'session.qr') {
      const { qr, attempt, expiresAt } = event.payload;
      out.push({
        event: 'qr',
        id: event.id,
        data: {
          eventId: event.id,
          attempt,
          occurredAt: event.occurredAt,
          expiresAt,
          lifetimeSeconds: Math.max(0, (Date.parse(expiresAt) - Date.parse(event.occurredAt)) / 1000),
          svg: await this.svg(qr),
        },
      });
    } else if (event.type === 'session.pairing_code') {
      const { phone, code, expiresAt } = event.payload;
      out.push({ event: 'pairing_code', id: event.id, data: { phone, code, expiresAt } });
    }
    if (TIMELINE_EVENT_TYPES.has(event.type)) {
      out.push({ event: 'timeline', id: event.id, data: summarizeEvent(event) });
    }
    return out;
  }

  private async svg(qr: string): Promise<string> {
    const cached = this.svgCache.get(qr);
    if (cached) return cached;
    const svg = await this.renderer.svg(qr);
    if (this.svgCache.size >= SVG_CACHE_SIZE) {
      const oldest = this.svgCache.keys().next().value;
      if (oldest !== undefined) this.svgCache.delete(oldest);
    }
    this.svgCache.set(qr, svg);
    return svg;
  }
}
