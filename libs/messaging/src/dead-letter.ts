import { deadLetterSubject, SUBJECT_ROOTS } from '@app/contracts';
import { DeadLetterKind } from './settlement';

/** Headers every dead letter carries, so a human or the replay tool can tell what failed and where. */
export const DLQ_HEADERS = {
  reason: 'Dlq-Reason',
  originalSubject: 'Dlq-Original-Subject',
  deliveryCount: 'Dlq-Delivery-Count',
  consumer: 'Dlq-Consumer',
  stream: 'Dlq-Stream',
  streamSeq: 'Dlq-Stream-Seq',
  errorKind: 'Dlq-Error-Kind',
  failedAt: 'Dlq-Failed-At',
  originalMsgId: 'Dlq-Original-Msg-Id',
  eventId: 'Dlq-Event-Id',
  eventType: 'Dlq-Event-Type',
  /** Set when the body was cut to fit the server's max_payload: the original length in bytes. */
  truncatedFrom: 'Dlq-Truncated-From',
} as const;

export interface DeadLetterInput {
  originalSubject: string;
  originalHeaders: Iterable<[string, string[]]>;
  consumer: string;
  stream: string;
  streamSeq: number;
  deliveryCount: number;
  kind: DeadLetterKind;
  reason: string;
  failedAt: Date;
  /** Known when the message was a valid envelope. */
  event?: { id: string; type: string };
}

export interface DeadLetter {
  subject: string;
  /** Same consumer, same stored message → same id, so a repeated dead-lettering stores one copy. */
  msgId: string;
  headers: [string, string][];
}

// The server keys de-duplication and expectations on these; copying them would make the DLQ publish
// be dropped as a duplicate of the original or rejected.
const RESERVED_PREFIX = 'nats-';

export function buildDeadLetter(input: DeadLetterInput): DeadLetter {
  const headers: [string, string][] = [];
  let originalMsgId: string | undefined;
  for (const [key, values] of input.originalHeaders) {
    const lower = key.toLowerCase();
    if (lower === 'nats-msg-id') originalMsgId = values[0];
    if (lower.startsWith(RESERVED_PREFIX) || lower.startsWith('dlq-')) continue;
    for (const value of values) headers.push([key, value]);
  }
  headers.push(
    [DLQ_HEADERS.reason, headerValue(input.reason)],
    [DLQ_HEADERS.originalSubject, input.originalSubject],
    [DLQ_HEADERS.deliveryCount, String(input.deliveryCount)],
    [DLQ_HEADERS.consumer, input.consumer],
    [DLQ_HEADERS.stream, input.stream],
    [DLQ_HEADERS.streamSeq, String(input.streamSeq)],
    [DLQ_HEADERS.errorKind, input.kind],
    [DLQ_HEADERS.failedAt, input.failedAt.toISOString()],
  );
  if (originalMsgId !== undefined) headers.push([DLQ_HEADERS.originalMsgId, headerValue(originalMsgId)]);
  if (input.event) {
    headers.push(
      [DLQ_HEADERS.eventId, headerValue(input.event.id)],
      [DLQ_HEADERS.eventType, input.event.type],
    );
  }
  return {
    subject: deadLetterSubject(input.originalSubject),
    msgId: `dlq:${input.consumer}:${input.stream}:${input.streamSeq}`,
    headers,
  };
}

// A reason names every bad field of a message; past this it is noise, and headers share max_payload.
const MAX_HEADER_VALUE = 2_000;

/** Header values are one line of visible text on the wire, of bounded length. */
function headerValue(value: string): string {
  const line = value.replace(/[\r\n]+/g, ' ').trim() || '-';
  return line.length > MAX_HEADER_VALUE ? `${line.slice(0, MAX_HEADER_VALUE)}…` : line;
}

/** Bytes headers take on the wire: the `NATS/1.0` line, one line per header, a blank line. */
export function headersWireSize(headers: Iterable<[string, string]>): number {
  let size = 'NATS/1.0\r\n\r\n'.length;
  for (const [key, value] of headers) size += Buffer.byteLength(`${key}: ${value}\r\n`);
  return size;
}

// Room for what the client adds on its own (the msg id header is counted explicitly).
const WIRE_SLACK_BYTES = 64;

/**
 * Makes a dead letter fit the server's max_payload, which counts headers and body together: a message
 * that just fitted cannot be copied with the Dlq-* headers added, and retrying the copy would never
 * succeed. The start of the body is kept and `Dlq-Truncated-From` says how long it was; the whole
 * original stays in its stream at `Dlq-Stream-Seq` until the stream's retention ends.
 */
export function fitDeadLetter(
  letter: DeadLetter,
  body: Uint8Array,
  maxPayload: number,
): { headers: [string, string][]; body: Uint8Array } {
  const room = (headers: [string, string][]) =>
    maxPayload - headersWireSize([...headers, ['Nats-Msg-Id', letter.msgId]]) - WIRE_SLACK_BYTES;
  if (body.length <= room(letter.headers)) return { headers: letter.headers, body };
  const headers: [string, string][] = [...letter.headers, [DLQ_HEADERS.truncatedFrom, String(body.length)]];
  return { headers, body: body.subarray(0, Math.max(0, room(headers))) };
}

/** A stored dead letter as a person (or the replay tool) reads it. */
export interface DeadLetterEntry {
  /** Sequence in the DLQ stream: how an operator names one dead letter. */
  seq: number;
  storedAt: Date;
  /** Where the message was published, and where a redrive puts it back. */
  originalSubject: string;
  /** The location token of the original subject, when it has one. */
  locationId: string | null;
  reason: string;
  /** `invalid`, `permanent` or `exhausted`, as the consumer decided. */
  errorKind: string;
  consumer: string | null;
  deliveryCount: number | null;
  /** The original message's place in its stream. */
  originalStream: string | null;
  originalSeq: number | null;
  failedAt: string | null;
  eventId: string | null;
  eventType: string | null;
}

/** Reads the `Dlq-*` headers of a stored dead letter; a letter missing them still lists, with what is known. */
export function readDeadLetter(stored: {
  seq: number;
  subject: string;
  storedAt: Date;
  headers: { get(name: string): string } | undefined;
}): DeadLetterEntry {
  const header = (name: string): string | null => stored.headers?.get(name) || null;
  const number = (name: string): number | null => {
    const value = Number(header(name));
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  };
  const prefix = `${SUBJECT_ROOTS.deadLetters}.`;
  const originalSubject =
    header(DLQ_HEADERS.originalSubject) ??
    (stored.subject.startsWith(prefix) ? stored.subject.slice(prefix.length) : stored.subject);
  return {
    seq: stored.seq,
    storedAt: stored.storedAt,
    originalSubject,
    locationId: originalSubject.split('.')[1] || null,
    reason: header(DLQ_HEADERS.reason) ?? 'no reason recorded',
    errorKind: header(DLQ_HEADERS.errorKind) ?? 'unknown',
    consumer: header(DLQ_HEADERS.consumer),
    deliveryCount: number(DLQ_HEADERS.deliveryCount),
    originalStream: header(DLQ_HEADERS.stream),
    originalSeq: number(DLQ_HEADERS.streamSeq),
    failedAt: header(DLQ_HEADERS.failedAt),
    eventId: header(DLQ_HEADERS.eventId),
    eventType: header(DLQ_HEADERS.eventType),
  };
}
