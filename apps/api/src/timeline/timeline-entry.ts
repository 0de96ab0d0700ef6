import type { EventEnvelope, MessageContent } from '@app/contracts';
import type { DeadLetterEntry } from '@app/messaging';
import { summarizeEvent } from '../locations/event-summary';
import type { TimelineEntry } from './timeline.schemas';

type Detail = TimelineEntry['detail'];

/** An event on the timeline: its summary and its facts, without any secret or message text. */
export function eventEntry(event: EventEnvelope, seq: number, storedAt: Date): TimelineEntry {
  return {
    kind: 'event',
    stream: 'EVENTS',
    seq,
    storedAt: storedAt.toISOString(),
    type: event.type,
    eventId: event.id,
    occurredAt: event.occurredAt,
    correlationId: event.correlationId,
    causationId: event.causationId,
    summary: summarizeEvent(event).summary,
    detail: detailOf(event),
  };
}

export function deadLetterEntry(letter: DeadLetterEntry): TimelineEntry {
  const what = letter.eventType ?? letter.originalSubject;
  const where = letter.consumer ? ` in ${letter.consumer}` : '';
  const deliveries = letter.deliveryCount ? ` after ${letter.deliveryCount} deliveries` : '';
  return {
    kind: 'dead_letter',
    stream: 'DLQ',
    seq: letter.seq,
    storedAt: letter.storedAt.toISOString(),
    type: 'dead_letter',
    eventId: letter.eventId,
    occurredAt: null,
    correlationId: null,
    causationId: null,
    summary: `Dead letter: ${what} gave up${where}${deliveries} (${letter.errorKind}): ${letter.reason}`,
    detail: {
      eventType: letter.eventType,
      errorKind: letter.errorKind,
      reason: letter.reason,
      consumer: letter.consumer,
      deliveryCount: letter.deliveryCount,
      originalSubject: letter.originalSubject,
      originalStream: letter.originalStream,
      originalSeq: letter.originalSeq,
      failedAt: letter.failedAt,
    },
  };
}

/** Exhaustive, so a new event type must decide what of it is shown. */
function detailOf(event: EventEnvelope): Detail {
  switch (event.type) {
    case 'session.qr':
      // Never the QR string: whoever holds it can link a phone.
      return {
        attempt: event.payload.attempt,
        expiresAt: event.payload.expiresAt,
        workerId: event.payload.workerId,
      };
    case 'session.ready':
      return {
        phone: event.payload.phone,
        pushName: event.payload.pushName,
        workerId: event.payload.workerId,
      };
    case 'session.disconnected':
      return {
        code: event.payload.code,
        reason: event.payload.reason,
        willReconnect: event.payload.willReconnect,
        reconnectInMs: event.payload.reconnectInMs,
        workerId: event.payload.workerId,
      };
    case 'session.logged_out':
      return { code: event.payload.code, reason: event.payload.reason, workerId: event.payload.workerId };
    case 'session.state_changed':
      return {
        state: event.payload.state,
        previous: event.payload.previous,
        code: event.payload.code,
        reason: event.payload.reason,
        workerId: event.payload.workerId,
      };
    case 'session.pairing_code':
      // Never the code itself.
      return {
        phone: event.payload.phone,
        expiresAt: event.payload.expiresAt,
        workerId: event.payload.workerId,
      };
    case 'message.inbound':
      return {
        waMessageId: event.payload.waMessageId,
        from: event.payload.from.phone,
        sentAt: event.payload.sentAt,
        content: contentKind(event.payload.content),
      };
    case 'message.outbound':
      return {
        waMessageId: event.payload.waMessageId,
        to: event.payload.to.phone,
        origin: event.payload.origin,
        sentAt: event.payload.sentAt,
        content: contentKind(event.payload.content),
      };
    case 'message.status':
      return {
        waMessageId: event.payload.waMessageId,
        status: event.payload.status,
        error: event.payload.error,
        at: event.payload.at,
      };
    case 'contact.upserted':
      return { phone: event.payload.phone, source: event.payload.source };
    case 'ghl.outbound_requested':
      return {
        ghlMessageId: event.payload.ghlMessageId,
        contactId: event.payload.contactId,
        to: event.payload.phone,
        attachments: event.payload.attachments.length,
      };
    case 'ghl.sync_result':
      return {
        sourceEventId: event.payload.sourceEventId,
        sourceEventType: event.payload.sourceEventType,
        outcome: event.payload.outcome,
        waMessageId: event.payload.waMessageId,
        ghlMessageId: event.payload.ghlMessageId,
        detail: event.payload.detail,
      };
    case 'ghl.token_refreshed':
      return { resource: event.payload.resource, expiresAt: event.payload.expiresAt };
    case 'ghl.reauth_required':
      return { reason: event.payload.reason };
    case 'installation.changed':
      return { change: event.payload.change, installType: event.payload.installType };
  }
}

function contentKind(content: MessageContent): string {
  return content.kind === 'text' ? 'text' : `${content.mediaType} (${content.mimetype})`;
}
