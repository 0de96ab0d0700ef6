import {
  createEvent,
  EnvelopeMeta,
  EventEnvelope,
  EventPayload,
  EventType,
  eventSubject,
  parseEvent,
} from '@app/contracts';
import { ErrorCode, headers as natsHeaders, MsgHdrs, NatsError, PubAck } from 'nats';
import type { Logger } from 'pino';
import { busMetrics } from './bus.metrics';
import { BusUnavailableError } from './errors/bus-unavailable.error';
import { MessagingConnection } from './nats-connection';

export interface EventBusOptions {
  /** How long a publish waits for the JetStream ack before it fails with `BusUnavailableError`. */
  publishTimeoutMs?: number;
}

export interface PublishResult<T extends EventType = EventType> {
  envelope: EventEnvelope<T>;
  stream: string;
  /** Stream sequence; for a duplicate, the sequence of the copy stored first. */
  seq: number;
  /** True when the id was already stored within the de-duplication window: nothing new was written. */
  duplicate: boolean;
}

export interface PublishEnvelopeOptions {
  /** De-dup id; defaults to the envelope id. A replay run sets its own so the same event can be re-fed. */
  msgId?: string;
  /** Extra headers (e.g. the replay run); never `Nats-*`, which the server interprets. */
  headers?: Record<string, string>;
}

const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;

/**
 * Typed, acknowledged event publishing. A publish resolves only once JetStream has stored the event
 * (or recognised it as a duplicate of the same envelope id), so callers can rely on it being durable.
 */
export class EventBus {
  private readonly publishTimeoutMs: number;
  private readonly logger: Logger;

  constructor(
    private readonly connection: MessagingConnection,
    logger: Logger,
    options: EventBusOptions = {},
  ) {
    this.publishTimeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    this.logger = logger.child({ component: 'event-bus' });
  }

  /** Builds, validates and publishes an event. A bad payload throws `ContractViolation` before anything is sent. */
  async publish<T extends EventType>(
    type: T,
    locationId: string,
    payload: EventPayload<T>,
    meta?: EnvelopeMeta,
  ): Promise<PublishResult<T>> {
    const envelope = createEvent(type, locationId, payload, meta);
    return this.send(envelope, eventSubject(type, envelope.locationId), envelope.id);
  }

  /**
   * Publishes an envelope that already exists (forwarding, replay). It is validated again because it
   * may have been built or edited outside `createEvent`.
   */
  async publishEnvelope<T extends EventType>(
    envelope: EventEnvelope<T>,
    subjectOverride?: string,
    options: PublishEnvelopeOptions = {},
  ): Promise<PublishResult<T>> {
    const valid = parseEvent(envelope) as EventEnvelope<T>;
    const subject = subjectOverride ?? eventSubject(valid.type, valid.locationId);
    return this.send(valid, subject, options.msgId ?? valid.id, options.headers);
  }

  private async send<T extends EventType>(
    envelope: EventEnvelope<T>,
    subject: string,
    msgId: string,
    extraHeaders?: Record<string, string>,
  ): Promise<PublishResult<T>> {
    const data = Buffer.from(JSON.stringify(envelope));
    let hdrs: MsgHdrs | undefined;
    if (extraHeaders) {
      hdrs = natsHeaders();
      for (const [key, value] of Object.entries(extraHeaders)) {
        if (key.toLowerCase().startsWith('nats-'))
          throw new Error(`header ${key} is reserved for the server`);
        hdrs.set(key, value);
      }
    }
    let ack: PubAck;
    try {
      ack = await this.connection.js.publish(subject, data, {
        msgID: msgId,
        timeout: this.publishTimeoutMs,
        headers: hdrs,
      });
    } catch (err) {
      const unavailable = asUnavailable(err, subject, this.publishTimeoutMs);
      busMetrics.publishFailures.inc({ type: envelope.type, reason: unavailable ? 'unavailable' : 'error' });
      this.logger.warn(
        { err, subject, eventId: envelope.id, eventType: envelope.type },
        unavailable ? 'event not published: bus unavailable' : 'event not published',
      );
      throw unavailable ?? err;
    }
    busMetrics.published.inc({ type: envelope.type });
    return { envelope, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
  }
}

/** Maps the client's "nobody took it in time" failures to one typed error; null for anything else. */
export function asUnavailable(err: unknown, subject: string, timeoutMs: number): BusUnavailableError | null {
  if (!(err instanceof NatsError)) return null;
  switch (err.code) {
    case ErrorCode.Timeout:
      return new BusUnavailableError(`no JetStream ack for ${subject} within ${timeoutMs} ms`, subject, {
        cause: err,
      });
    case ErrorCode.NoResponders:
      return new BusUnavailableError(`JetStream did not answer for ${subject} (no responders)`, subject, {
        cause: err,
      });
    case ErrorCode.ConnectionClosed:
    case ErrorCode.ConnectionDraining:
    case ErrorCode.Disconnect:
      return new BusUnavailableError(`NATS connection unusable (${err.code}) for ${subject}`, subject, {
        cause: err,
      });
    default:
      return null;
  }
}
