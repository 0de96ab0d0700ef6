import type { EventEnvelope, EventPayload } from '@app/contracts';
import { disconnectInWords } from './session-explanation';

export interface EventSummary {
  id: string;
  type: string;
  occurredAt: string;
  correlationId: string;
  summary: string;
}

/** Event types worth showing on a session's timeline (message traffic is not: it would drown the rest). */
export const TIMELINE_EVENT_TYPES = new Set<string>([
  'session.qr',
  'session.ready',
  'session.disconnected',
  'session.logged_out',
  'session.state_changed',
  'session.pairing_code',
  'installation.changed',
  'ghl.reauth_required',
  'ghl.token_refreshed',
]);

/**
 * One line a person understands, without secrets: no QR string, no pairing code, no message text.
 * Exhaustive, so a new event type must be given words here.
 */
export function summarizeEvent(event: EventEnvelope): EventSummary {
  return {
    id: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    correlationId: event.correlationId,
    summary: describe(event),
  };
}

function describe(event: EventEnvelope): string {
  switch (event.type) {
    case 'session.qr':
      return `New QR code #${event.payload.attempt}, valid until ${event.payload.expiresAt.slice(11, 19)} UTC`;
    case 'session.ready':
      return `Connected as ${event.payload.phone}${event.payload.pushName ? ` (${event.payload.pushName})` : ''}`;
    case 'session.disconnected': {
      const words = disconnectInWords(event.payload.code) ?? event.payload.reason;
      return event.payload.willReconnect
        ? `Disconnected (${event.payload.code}): ${words}; reconnecting in ${Math.round((event.payload.reconnectInMs ?? 0) / 1000)} s`
        : `Disconnected (${event.payload.code}): ${words}; not reconnecting`;
    }
    case 'session.logged_out':
      return `Logged out (${event.payload.code}): ${event.payload.reason}`;
    case 'session.state_changed':
      return `${event.payload.previous ?? 'none'} → ${event.payload.state}: ${event.payload.reason}`;
    case 'session.pairing_code':
      return `Pairing code issued for ${event.payload.phone}`;
    case 'message.inbound':
      return `Message received from ${event.payload.from.phone ?? 'a hidden number'}`;
    case 'message.outbound':
      return `Message sent to ${event.payload.to.phone ?? 'a hidden number'} (${event.payload.origin === 'phone' ? 'from the phone' : 'from GoHighLevel'})`;
    case 'message.status':
      return `Message ${event.payload.status}`;
    case 'contact.upserted':
      return `Contact ${event.payload.phone ?? event.payload.jid} seen`;
    case 'ghl.outbound_requested':
      return 'GoHighLevel asked to send a message';
    case 'ghl.sync_result':
      return syncResultInWords(event.payload);
    case 'ghl.token_refreshed':
      return `GoHighLevel access renewed until ${event.payload.expiresAt.slice(0, 16).replace('T', ' ')} UTC`;
    case 'ghl.reauth_required':
      return `GoHighLevel needs the app to be authorised again: ${event.payload.reason}`;
    case 'installation.changed':
      return event.payload.change === 'installed'
        ? 'App installed in GoHighLevel'
        : 'App uninstalled from GoHighLevel';
  }
}

function syncResultInWords(result: EventPayload<'ghl.sync_result'>): string {
  const why = result.detail ? `: ${result.detail}` : '';
  const message = result.ghlMessageId ? `, message ${result.ghlMessageId}` : '';
  switch (result.outcome) {
    case 'applied':
      return `Written to GoHighLevel (${result.sourceEventType}${message})${why}`;
    case 'skipped_duplicate':
      return `Already in GoHighLevel, not written again (${result.sourceEventType})${why}`;
    case 'failed':
      return `Could not be written to GoHighLevel (${result.sourceEventType})${why}`;
  }
}
