import { z } from 'zod';
import { Envelope, EnvelopeMeta, envelopeSchema, newEnvelopeHeader } from '../envelope';
import { contactUpsertedPayloadSchema } from './contact.events';
import {
  ghlOutboundRequestedPayloadSchema,
  ghlReauthRequiredPayloadSchema,
  ghlSyncResultPayloadSchema,
  ghlTokenRefreshedPayloadSchema,
  installationChangedPayloadSchema,
} from './ghl.events';
import {
  messageInboundPayloadSchema,
  messageOutboundPayloadSchema,
  messageStatusPayloadSchema,
} from './message.events';
import {
  sessionDisconnectedPayloadSchema,
  sessionLoggedOutPayloadSchema,
  sessionPairingCodePayloadSchema,
  sessionQrPayloadSchema,
  sessionReadyPayloadSchema,
  sessionStateChangedPayloadSchema,
} from './session.events';

export * from './contact.events';
export * from './ghl.events';
export * from './message.events';
export * from './session.events';

/**
 * Every durable event of the product. The key is the event `type`; it is also the tail of the NATS
 * subject (`evt.<locationId>.<type>`), so a payload cannot be published on another event's subject.
 * Bump `version` on a breaking payload change and keep reading the old one.
 */
export const EVENTS = {
  'session.qr': { version: 1, payload: sessionQrPayloadSchema },
  'session.ready': { version: 1, payload: sessionReadyPayloadSchema },
  'session.disconnected': { version: 1, payload: sessionDisconnectedPayloadSchema },
  'session.logged_out': { version: 1, payload: sessionLoggedOutPayloadSchema },
  'session.state_changed': { version: 1, payload: sessionStateChangedPayloadSchema },
  'session.pairing_code': { version: 1, payload: sessionPairingCodePayloadSchema },
  'message.inbound': { version: 1, payload: messageInboundPayloadSchema },
  'message.outbound': { version: 1, payload: messageOutboundPayloadSchema },
  'message.status': { version: 1, payload: messageStatusPayloadSchema },
  'contact.upserted': { version: 1, payload: contactUpsertedPayloadSchema },
  'ghl.outbound_requested': { version: 1, payload: ghlOutboundRequestedPayloadSchema },
  'ghl.sync_result': { version: 1, payload: ghlSyncResultPayloadSchema },
  'ghl.token_refreshed': { version: 1, payload: ghlTokenRefreshedPayloadSchema },
  'ghl.reauth_required': { version: 1, payload: ghlReauthRequiredPayloadSchema },
  'installation.changed': { version: 1, payload: installationChangedPayloadSchema },
} as const satisfies Record<string, { version: number; payload: z.ZodType }>;

export type EventType = keyof typeof EVENTS;
export type EventPayload<T extends EventType> = z.infer<(typeof EVENTS)[T]['payload']>;
export type EventEnvelope<T extends EventType = EventType> = {
  [K in T]: Envelope<K, EventPayload<K>>;
}[T];

export const EVENT_TYPES = Object.keys(EVENTS) as EventType[];

export function isEventType(value: string): value is EventType {
  return Object.prototype.hasOwnProperty.call(EVENTS, value);
}

const eventSchemas = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, envelopeSchema(type, EVENTS[type].version, EVENTS[type].payload)]),
) as unknown as { [K in EventType]: z.ZodType<EventEnvelope<K>> };

export function eventEnvelopeSchema<T extends EventType>(type: T): z.ZodType<EventEnvelope<T>> {
  return eventSchemas[type];
}

/** Creates and validates an event envelope; throws `ContractViolation` if the payload is wrong. */
export function createEvent<T extends EventType>(
  type: T,
  locationId: string,
  payload: EventPayload<T>,
  meta: EnvelopeMeta = {},
): EventEnvelope<T> {
  const candidate = { ...newEnvelopeHeader(meta), type, version: EVENTS[type].version, locationId, payload };
  return parseWith(eventSchemas[type], candidate, `event ${type}`);
}

/** Parses an unknown value as one of the product's events, by its `type`. */
export function parseEvent(raw: unknown): EventEnvelope {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !isEventType(type)) {
    throw new ContractViolation(`unknown event type ${JSON.stringify(type)}`, []);
  }
  return parseWith(eventSchemas[type] as z.ZodType<EventEnvelope>, raw, `event ${type}`);
}

/** Thrown when a message does not match its contract; `issues` names every bad field. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(message);
  }
}

export function parseWith<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new ContractViolation(`invalid ${what}: ${summary}`, issues);
}
