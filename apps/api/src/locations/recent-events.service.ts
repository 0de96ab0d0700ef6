import { Inject, Injectable } from '@nestjs/common';
import { eventSubject, parseEvent, type EventEnvelope, type EventType } from '@app/contracts';
import { MessagingConnection, STREAMS } from '@app/messaging';
import { AckPolicy, DeliverPolicy, nanos, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import { API_LOGGER } from '../api.tokens';
import { summarizeEvent, TIMELINE_EVENT_TYPES, type EventSummary } from './event-summary';

// How far back the timeline looks, and how many events it reads at most to find the newest ones.
const LOOKBACK_MS = 24 * 60 * 60 * 1000;
const MAX_READ = 2_000;
const FETCH_EXPIRES_MS = 2_000;
// Rare events that may be older than the session's own history: the newest of each is always shown.
const LAST_OF_TYPE: EventType[] = ['installation.changed', 'ghl.reauth_required', 'ghl.token_refreshed'];

/**
 * A location's recent lifecycle events, read from the durable event stream (the log the design keeps
 * for replay and debugging) with a short-lived consumer, so the api needs no table of its own and every
 * replica answers the same. Message traffic is filtered out by subject.
 */
@Injectable()
export class RecentEventsService {
  private readonly logger: Logger;

  constructor(
    private readonly connection: MessagingConnection,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'recent-events' });
  }

  /** Newest first. An unavailable bus gives an empty list (the rest of the answer is still useful). */
  async recent(locationId: string, limit: number): Promise<EventSummary[]> {
    try {
      const [session, others] = await Promise.all([
        this.readSessionEvents(locationId, limit),
        Promise.all(LAST_OF_TYPE.map((type) => this.lastOf(locationId, type))),
      ]);
      const all = [...session, ...others.filter((e): e is EventEnvelope => e !== null)];
      const unique = new Map(all.map((e) => [e.id, e]));
      return [...unique.values()]
        .filter((e) => TIMELINE_EVENT_TYPES.has(e.type))
        .sort((a, b) => b.occurredAt.localeCompare(a.occurredAt))
        .slice(0, limit)
        .map(summarizeEvent);
    } catch (err) {
      this.logger.warn({ err, locationId }, 'could not read recent events');
      return [];
    }
  }

  private async readSessionEvents(locationId: string, limit: number): Promise<EventEnvelope[]> {
    const filter = `evt.${locationId}.session.>`;
    const since = Date.now() - LOOKBACK_MS;
    let { name, pending } = await this.createConsumer(filter, since);
    if (pending > MAX_READ) {
      // A very busy day: start later, assuming events spread evenly, to land near the newest ones.
      await this.deleteConsumer(name);
      const later = Date.now() - Math.floor((LOOKBACK_MS * MAX_READ) / pending);
      ({ name, pending } = await this.createConsumer(filter, later));
    }
    try {
      if (pending === 0) return [];
      const consumer = await this.connection.js.consumers.get(STREAMS.events, name);
      const messages = await consumer.fetch({
        max_messages: Math.min(pending, MAX_READ),
        expires: FETCH_EXPIRES_MS,
      });
      const newest: EventEnvelope[] = [];
      for await (const msg of messages) {
        const event = decode(msg);
        if (!event) continue;
        newest.push(event);
        if (newest.length > limit) newest.shift();
      }
      return newest;
    } finally {
      await this.deleteConsumer(name);
    }
  }

  private async createConsumer(filter: string, sinceMs: number): Promise<{ name: string; pending: number }> {
    const jsm = await this.connection.jsm();
    const info = await jsm.consumers.add(STREAMS.events, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(sinceMs).toISOString(),
      filter_subject: filter,
      // Removed by the server even if we never get to delete it.
      inactive_threshold: nanos(30_000),
      num_replicas: 1,
    });
    return { name: info.name, pending: info.num_pending };
  }

  private async deleteConsumer(name: string): Promise<void> {
    try {
      const jsm = await this.connection.jsm();
      await jsm.consumers.delete(STREAMS.events, name);
    } catch {
      // the inactivity threshold removes it anyway
    }
  }

  private async lastOf(locationId: string, type: EventType): Promise<EventEnvelope | null> {
    const jsm = await this.connection.jsm();
    try {
      const msg = await jsm.streams.getMessage(STREAMS.events, {
        last_by_subj: eventSubject(type, locationId),
      });
      return parseEvent(msg.json());
    } catch {
      return null;
    }
  }
}

function decode(msg: JsMsg): EventEnvelope | null {
  try {
    return parseEvent(msg.json());
  } catch {
    return null;
  }
}
