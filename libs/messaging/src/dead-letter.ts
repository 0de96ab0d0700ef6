import { deadLetterSubject } from '@app/contracts';
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

/** Header values are one line of visible text on the wire. */
function headerValue(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim() || '-';
}
