import { createEvent, EventEnvelope, EventPayload } from '@app/contracts';

export const LOCATION = 'loc123';

export function statusPayload(
  overrides: Partial<EventPayload<'message.status'>> = {},
): EventPayload<'message.status'> {
  return {
    waMessageId: 'wamid-1',
    chatJid: '15550000001@s.whatsapp.net',
    status: 'delivered',
    error: null,
    at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export function statusEvent(
  overrides: Partial<EventPayload<'message.status'>> = {},
  locationId = LOCATION,
): EventEnvelope<'message.status'> {
  return createEvent('message.status', locationId, statusPayload(overrides));
}

export function bytes(value: unknown): Uint8Array {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}
