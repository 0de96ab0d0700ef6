import { deadLetterFilter, REPLAY_HEADERS, SUBJECT_ROOTS, type EventEnvelope } from '@app/contracts';
import { headers as natsHeaders, type MsgHdrs, type StoredMsg } from 'nats';
import { DeadLetterEntry, readDeadLetter } from './dead-letter';
import { decodeEventMessage } from './event-decoder';
import { MessagingConnection } from './nats-connection';
import { apiErrorCode } from './stream-provisioner';
import { readStream, type StoredMessage } from './stream-reader';
import { STREAMS } from './topology';

/** Header a redriven message carries: the dead letter it came from (for the logs and the timeline). */
export const REDRIVEN_FROM_HEADER = 'Redriven-From';

const MESSAGE_NOT_FOUND = 10037;

export interface DeadLetterQuery {
  /** One location's dead letters; all when absent. */
  locationId?: string;
  /** Sequence to start from (a cursor). */
  fromSeq?: number;
  since?: Date;
  until?: Date;
}

/** A dead letter with its original message, decoded when it is a valid envelope. */
export interface DeadLetterWithMessage {
  entry: DeadLetterEntry;
  envelope: EventEnvelope | null;
  /** Why the message is not an envelope of its subject (it cannot be redriven or replayed). */
  invalidReason: string | null;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

export interface RedriveResult {
  seq: number;
  subject: string;
  eventId: string;
  /** Sequence of the copy in the original stream. */
  publishedSeq: number;
}

/** Refused: the dead letter is missing, or it is not a message that can be handled again. */
export class DeadLetterError extends Error {
  override readonly name = 'DeadLetterError';
  constructor(
    readonly code: 'not_found' | 'not_redrivable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The dead-letter stream for people: list with reasons, redrive (put the original message back on its
 * subject, so the consumer that gave up handles it again), delete and purge.
 *
 * A redrive is published with a de-duplication id of its own (`redrive:<dlq seq>:<event id>`): the
 * original id may still be inside the stream's duplicate window, which would swallow it silently. The
 * envelope itself is unchanged, so the consumer's idempotency (sync's intents, keyed by the WhatsApp or
 * GHL message) still decides whether anything is written. The dead letter is deleted once the copy is
 * stored; should the delete fail, a second redrive of it within the window is dropped by the server,
 * and any later one is skipped by the consumer as already applied.
 */
export class DeadLetterStore {
  constructor(private readonly connection: MessagingConnection) {}

  /** Dead letters in stream order, with their messages. */
  async *read(query: DeadLetterQuery = {}): AsyncGenerator<DeadLetterWithMessage> {
    const window = {
      stream: STREAMS.deadLetters,
      filterSubject: deadLetterFilter(query.locationId),
      fromSeq: query.fromSeq,
      since: query.since,
      until: query.until,
    };
    for await (const stored of readStream(this.connection, window)) yield withMessage(stored);
  }

  async *list(query: DeadLetterQuery = {}): AsyncGenerator<DeadLetterEntry> {
    for await (const letter of this.read(query)) yield letter.entry;
  }

  async get(seq: number): Promise<DeadLetterWithMessage | null> {
    const jsm = await this.connection.jsm();
    let stored: StoredMsg;
    try {
      stored = await jsm.streams.getMessage(STREAMS.deadLetters, { seq });
    } catch (err) {
      if (apiErrorCode(err) === MESSAGE_NOT_FOUND) return null;
      throw err;
    }
    return withMessage({
      stream: STREAMS.deadLetters,
      seq,
      subject: stored.subject,
      storedAt: stored.time,
      headers: stored.header,
      data: stored.data,
    });
  }

  /** The newest sequence in the stream: a bulk redrive stops there, so a letter that fails again is not redriven in a loop. */
  async lastSeq(): Promise<number> {
    const jsm = await this.connection.jsm();
    return (await jsm.streams.info(STREAMS.deadLetters)).state.last_seq;
  }

  /**
   * Puts one dead letter's message back on its original subject, then deletes the dead letter. With a
   * replay run, the copy carries its headers so the consumer reports the outcome to the waiting tool.
   */
  async redrive(seq: number, run?: { runId: string; key: string }): Promise<RedriveResult> {
    const letter = await this.get(seq);
    if (!letter) throw new DeadLetterError('not_found', `no dead letter with sequence ${seq}`);
    if (!letter.envelope || letter.invalidReason) {
      throw new DeadLetterError(
        'not_redrivable',
        `dead letter ${seq} cannot be redriven: ${letter.invalidReason ?? 'not an event'} (purge it instead)`,
      );
    }
    const hdrs = natsHeaders();
    for (const [key, values] of letter.headers ?? []) {
      const lower = key.toLowerCase();
      if (lower.startsWith('nats-') || lower.startsWith('dlq-') || isReplayHeader(lower)) continue;
      for (const value of values) hdrs.append(key, value);
    }
    hdrs.set(REDRIVEN_FROM_HEADER, `${STREAMS.deadLetters}:${seq}`);
    if (run) {
      hdrs.set(REPLAY_HEADERS.run, run.runId);
      hdrs.set(REPLAY_HEADERS.key, run.key);
    }
    const ack = await this.connection.js.publish(letter.entry.originalSubject, letter.data, {
      msgID: `redrive:${seq}:${letter.envelope.id}`,
      headers: hdrs,
    });
    await this.delete(seq);
    return {
      seq,
      subject: letter.entry.originalSubject,
      eventId: letter.envelope.id,
      publishedSeq: ack.seq,
    };
  }

  /** Deletes one dead letter; false when it was not there. */
  async delete(seq: number): Promise<boolean> {
    const jsm = await this.connection.jsm();
    try {
      return await jsm.streams.deleteMessage(STREAMS.deadLetters, seq, false);
    } catch (err) {
      if (apiErrorCode(err) === MESSAGE_NOT_FOUND) return false;
      throw err;
    }
  }

  /** Removes every dead letter (of one location, when given); returns how many were removed. */
  async purge(locationId?: string): Promise<number> {
    const jsm = await this.connection.jsm();
    const response = await jsm.streams.purge(
      STREAMS.deadLetters,
      locationId === undefined ? undefined : { filter: deadLetterFilter(locationId) },
    );
    return response.purged;
  }
}

function withMessage(stored: StoredMessage): DeadLetterWithMessage {
  const entry = readDeadLetter(stored);
  const decoded = decodeEventMessage(entry.originalSubject, stored.data);
  return {
    entry,
    envelope: decoded.ok ? decoded.envelope : null,
    invalidReason: decoded.ok ? redriveRefusal(entry.originalSubject) : decoded.reason,
    data: stored.data,
    headers: stored.headers,
  };
}

/** A copy carries the run of this redrive only, never that of an earlier replay. */
function isReplayHeader(lower: string): boolean {
  return lower === REPLAY_HEADERS.run.toLowerCase() || lower === REPLAY_HEADERS.key.toLowerCase();
}

/** A dead letter of a subject nobody consumes from would only come back. */
function redriveRefusal(originalSubject: string): string | null {
  const root = originalSubject.split('.')[0];
  return root === SUBJECT_ROOTS.events || root === SUBJECT_ROOTS.replay
    ? null
    : `its original subject ${originalSubject} is not an event subject`;
}
