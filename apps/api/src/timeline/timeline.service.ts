import { Injectable } from '@nestjs/common';
import { deadLetterFilter, eventFilter, isEventType, type EventType } from '@app/contracts';
import {
  decodeEventMessage,
  DeadLetterStore,
  MessagingConnection,
  readDeadLetter,
  readStream,
  STREAMS,
  type DeadLetterEntry,
  type StoredMessage,
  type StreamWindow,
} from '@app/messaging';
import { decodeCursor, encodeCursor, type TimelineCursor } from './timeline-cursor';
import { deadLetterEntry, eventEntry } from './timeline-entry';
import type { TimelineEntry, TimelineType } from './timeline.schemas';

export interface TimelineRequest {
  locationId: string;
  since: Date;
  until: Date;
  /** Undefined: every type and the dead letters. */
  types: readonly TimelineType[] | undefined;
  limit: number;
  /** A previous page's `next`; its window wins over since/until. */
  cursor: string | undefined;
}

export interface TimelinePage {
  since: Date;
  until: Date;
  entries: TimelineEntry[];
  next: string | null;
}

/** Bad cursor: the client should start the listing again. */
export class InvalidCursorError extends Error {}

// Messages one request reads at most per stream to fill a page: with a narrow type filter a page may
// come back short, with a cursor to go on, instead of one request scanning a whole week.
const MAX_SCAN = 5_000;

interface Scan {
  entries: TimelineEntry[];
  /** Where to go on when every entry of this scan is shown; null when the window is exhausted. */
  resumeSeq: number | null;
}

/**
 * A location's session story, read from JetStream by time: its events (`evt.<loc>.>`, GHL results
 * included) and its dead letters (`dlq.*.<loc>.>`), merged in the order the server stored them. The
 * subject filter is the location isolation: another location's entries are never read.
 */
@Injectable()
export class TimelineService {
  private readonly deadLetters: DeadLetterStore;

  constructor(private readonly connection: MessagingConnection) {
    this.deadLetters = new DeadLetterStore(connection);
  }

  async page(request: TimelineRequest): Promise<TimelinePage> {
    const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    if (cursor === null) throw new InvalidCursorError('the cursor is not one this api gave out');
    const since = cursor ? new Date(cursor.sinceMs) : request.since;
    const until = cursor ? new Date(cursor.untilMs) : request.until;
    const wanted = request.types;
    const eventTypes = (wanted ?? []).filter(isEventType);
    const withEvents = wanted === undefined || eventTypes.length > 0;
    const withDeadLetters = wanted === undefined || wanted.includes('dead_letter');

    const [events, letters] = await Promise.all([
      withEvents && cursor?.events !== null
        ? this.scan(
            {
              stream: STREAMS.events,
              // One type: the server filters; several: the location's subjects, filtered here.
              filterSubject:
                eventTypes.length === 1
                  ? eventFilter(request.locationId, eventTypes[0])
                  : eventFilter(request.locationId),
              ...start(cursor?.events, since),
              until,
            },
            request.limit,
            (stored) => this.toEventEntry(stored, wanted === undefined ? undefined : eventTypes),
          )
        : exhausted(),
      withDeadLetters && cursor?.deadLetters !== null
        ? this.scan(
            {
              stream: STREAMS.deadLetters,
              filterSubject: deadLetterFilter(request.locationId),
              ...start(cursor?.deadLetters, since),
              until,
            },
            request.limit,
            (stored) => deadLetterEntry(readDeadLetter(stored)),
          )
        : exhausted(),
    ]);

    const merged = [...events.entries, ...letters.entries].sort(byStoredTime).slice(0, request.limit);
    const next: TimelineCursor = {
      events: resumeAfter(events, merged),
      deadLetters: resumeAfter(letters, merged),
      sinceMs: since.getTime(),
      untilMs: until.getTime(),
    };
    return {
      since,
      until,
      entries: merged,
      next: next.events === null && next.deadLetters === null ? null : encodeCursor(next),
    };
  }

  /** A location's dead letters, oldest first, from `fromSeq`. */
  async deadLetterPage(
    locationId: string | undefined,
    limit: number,
    fromSeq: number | undefined,
  ): Promise<{ deadLetters: DeadLetterEntry[]; next: number | null }> {
    const deadLetters: DeadLetterEntry[] = [];
    for await (const entry of this.deadLetters.list({ locationId, fromSeq })) {
      if (deadLetters.length === limit) return { deadLetters, next: entry.seq };
      deadLetters.push(entry);
    }
    return { deadLetters, next: null };
  }

  private toEventEntry(stored: StoredMessage, types: readonly EventType[] | undefined): TimelineEntry | null {
    const decoded = decodeEventMessage(stored.subject, stored.data);
    // Not an event of the contract: nothing a person can read here (the consumer dead-letters it).
    if (!decoded.ok) return null;
    if (types !== undefined && !types.includes(decoded.envelope.type)) return null;
    return eventEntry(decoded.envelope, stored.seq, stored.storedAt);
  }

  private async scan(
    window: StreamWindow,
    limit: number,
    toEntry: (stored: StoredMessage) => TimelineEntry | null,
  ): Promise<Scan> {
    const entries: TimelineEntry[] = [];
    let scanned = 0;
    let lastSeq = 0;
    for await (const stored of readStream(this.connection, window)) {
      scanned += 1;
      lastSeq = stored.seq;
      const entry = toEntry(stored);
      if (entry) entries.push(entry);
      if (entries.length === limit || scanned === MAX_SCAN) return { entries, resumeSeq: lastSeq + 1 };
    }
    return { entries, resumeSeq: null };
  }
}

function start(cursorSeq: number | null | undefined, since: Date): Pick<StreamWindow, 'fromSeq' | 'since'> {
  return cursorSeq === undefined || cursorSeq === null ? { since } : { fromSeq: cursorSeq };
}

async function exhausted(): Promise<Scan> {
  return { entries: [], resumeSeq: null };
}

/**
 * Where a stream's next page starts: at its first entry that did not make this page, or where the
 * scan stopped when all of them did.
 */
function resumeAfter(scan: Scan, shown: TimelineEntry[]): number | null {
  const left = scan.entries.find((entry) => !shown.includes(entry));
  return left ? left.seq : scan.resumeSeq;
}

/** Stored order; on the same millisecond, a stream's own order, events before dead letters. */
function byStoredTime(a: TimelineEntry, b: TimelineEntry): number {
  return (
    a.storedAt.localeCompare(b.storedAt) ||
    (a.stream === b.stream ? a.seq - b.seq : a.stream === 'EVENTS' ? -1 : 1)
  );
}
