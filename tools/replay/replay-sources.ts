import {
  eventFilter,
  parseEventSubject,
  REPLAY_HEADERS,
  replaySubject,
  type EventEnvelope,
} from '@app/contracts';
import {
  decodeEventMessage,
  readStream,
  STREAMS,
  type DeadLetterStore,
  type DeadLetterWithMessage,
  type EventBus,
  type MessagingConnection,
  type StoredMessage,
} from '@app/messaging';
import type { EventSelection } from './replay-command';
import type { ReplayItem } from './replay-run';

/** The subject filter that reads a selection: one type's subject when only one is selected. */
export function filterSubjectFor(selection: EventSelection): string {
  return selection.types.length === 1
    ? eventFilter(selection.locationId, selection.types[0])
    : eventFilter(selection.locationId);
}

/** Whether a stored message belongs to the selection (the stream already filtered the location). */
export function isSelected(selection: EventSelection, subject: string): boolean {
  const parsed = parseEventSubject(subject);
  return (
    parsed !== null &&
    parsed.locationId === selection.locationId &&
    (selection.types as readonly string[]).includes(parsed.type)
  );
}

/** A stored event as an item to replay; an undecodable one is kept, to be reported as not sent. */
export function eventItem(stored: StoredMessage): ReplayItem {
  const decoded = decodeEventMessage(stored.subject, stored.data);
  return {
    key: String(stored.seq),
    label: `${stored.stream} #${stored.seq}`,
    storedAt: stored.storedAt,
    envelope: decoded.ok ? decoded.envelope : null,
    invalidReason: decoded.ok ? undefined : decoded.reason,
  };
}

/** The selected events of the `EVENTS` stream, in stream order. */
export async function* selectedEvents(
  connection: MessagingConnection,
  selection: EventSelection,
): AsyncGenerator<ReplayItem> {
  const window = {
    stream: STREAMS.events,
    filterSubject: filterSubjectFor(selection),
    since: selection.since,
    until: selection.until,
  };
  for await (const stored of readStream(connection, window)) {
    if (isSelected(selection, stored.subject)) yield eventItem(stored);
  }
}

export function deadLetterItem(letter: DeadLetterWithMessage): ReplayItem {
  return {
    key: `dlq:${letter.entry.seq}`,
    label: `DLQ #${letter.entry.seq}`,
    storedAt: letter.entry.storedAt,
    envelope: letter.envelope,
    invalidReason: letter.invalidReason ?? undefined,
  };
}

/** Re-feeds an event on `replay.<location>.<type>`, with a de-dup id of the run so it is never swallowed. */
export function replayPublisher(bus: EventBus) {
  return async (item: ReplayItem & { envelope: EventEnvelope }, runId: string): Promise<void> => {
    await bus.publishEnvelope(item.envelope, replaySubject(item.envelope.type, item.envelope.locationId), {
      msgId: `replay:${runId}:${item.key}`,
      headers: { [REPLAY_HEADERS.run]: runId, [REPLAY_HEADERS.key]: item.key },
    });
  };
}

/** Redrives the dead letter behind an item (its key is `dlq:<seq>`). */
export function redrivePublisher(store: DeadLetterStore) {
  return async (item: ReplayItem, runId: string): Promise<void> => {
    await store.redrive(Number(item.key.slice('dlq:'.length)), { runId, key: item.key });
  };
}
