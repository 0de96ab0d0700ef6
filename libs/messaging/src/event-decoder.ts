import { ContractViolation, EventEnvelope, parseEvent, SUBJECT_ROOTS } from '@app/contracts';

export type DecodeResult = { ok: true; envelope: EventEnvelope } | { ok: false; reason: string };

// `fatal` makes broken UTF-8 an error instead of silently becoming U+FFFD inside a payload.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns the bytes of a stored message into a validated event envelope, or says why it cannot be one.
 * On `evt.`/`replay.` subjects the envelope must also be the event its subject names: a message whose
 * body disagrees with its subject would slip past subject filters and per-location ordering.
 */
export function decodeEventMessage(subject: string, data: Uint8Array): DecodeResult {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8.decode(data));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  let envelope: EventEnvelope;
  try {
    envelope = parseEvent(raw);
  } catch (err) {
    if (err instanceof ContractViolation) return { ok: false, reason: err.message };
    throw err;
  }
  const mismatch = subjectMismatch(subject, envelope);
  return mismatch === null ? { ok: true, envelope } : { ok: false, reason: mismatch };
}

function subjectMismatch(subject: string, envelope: EventEnvelope): string | null {
  const firstDot = subject.indexOf('.');
  const root = subject.slice(0, firstDot);
  if (firstDot === -1 || (root !== SUBJECT_ROOTS.events && root !== SUBJECT_ROOTS.replay)) return null;
  const expected = `${root}.${envelope.locationId}.${envelope.type}`;
  if (subject === expected) return null;
  return `subject ${subject} does not match the envelope (expected ${expected})`;
}
