import { CommandType, COMMANDS, isCommandType } from './commands';
import { EventType, isEventType } from './events';
import { GLOBAL_SCOPE, locationIdSchema } from './ids';
import { replayRunIdSchema } from './replay';

/**
 * Subject layout. The location is always the second token so that one location's traffic can be
 * filtered (`evt.<loc>.>`), replayed and kept in order, and one kind of event across locations too
 * (`evt.*.message.>`).
 *
 *   evt.<locationId>.<eventType>        durable events (stream EVENTS)
 *   cmd.<locationId>.<commandType>      request/reply commands (core NATS, not stored)
 *   dlq.<original subject>              dead letters (stream DLQ)
 *   replay.<locationId>.<eventType>     events re-fed by the replay tool (stream REPLAY)
 *   replay-outcome.<runId>              what sync did with each replayed event (core NATS, not stored)
 */
export const SUBJECT_ROOTS = {
  events: 'evt',
  commands: 'cmd',
  deadLetters: 'dlq',
  replay: 'replay',
  replayOutcomes: 'replay-outcome',
} as const;

function assertLocationToken(locationId: string): void {
  if (!locationIdSchema.safeParse(locationId).success) {
    throw new Error(`invalid locationId for a subject: ${JSON.stringify(locationId)}`);
  }
}

export function eventSubject(type: EventType, locationId: string): string {
  assertLocationToken(locationId);
  return `${SUBJECT_ROOTS.events}.${locationId}.${type}`;
}

/** Filter for all events of one location, or of one type across locations (pass `'*'`). */
export function eventFilter(locationId: string, type?: EventType | `${string}.>`): string {
  if (locationId !== '*') assertLocationToken(locationId);
  return `${SUBJECT_ROOTS.events}.${locationId}.${type ?? '>'}`;
}

export function replaySubject(type: EventType, locationId: string): string {
  assertLocationToken(locationId);
  return `${SUBJECT_ROOTS.replay}.${locationId}.${type}`;
}

export function replayOutcomeSubject(runId: string): string {
  if (!replayRunIdSchema.safeParse(runId).success) {
    throw new Error(`invalid replay run id for a subject: ${JSON.stringify(runId)}`);
  }
  return `${SUBJECT_ROOTS.replayOutcomes}.${runId}`;
}

/** Filter for one location's dead letters, whether the original was live (`evt.`) or replayed. */
export function deadLetterFilter(locationId?: string): string {
  if (locationId === undefined) return `${SUBJECT_ROOTS.deadLetters}.>`;
  assertLocationToken(locationId);
  return `${SUBJECT_ROOTS.deadLetters}.*.${locationId}.>`;
}

export function commandSubject(type: CommandType, locationId?: string): string {
  if (COMMANDS[type].scope === 'global') return `${SUBJECT_ROOTS.commands}.${GLOBAL_SCOPE}.${type}`;
  if (locationId === undefined) throw new Error(`command ${type} needs a locationId`);
  assertLocationToken(locationId);
  return `${SUBJECT_ROOTS.commands}.${locationId}.${type}`;
}

export function deadLetterSubject(originalSubject: string): string {
  return `${SUBJECT_ROOTS.deadLetters}.${originalSubject}`;
}

export interface ParsedSubject<T> {
  locationId: string;
  type: T;
}

/** Reads `evt.<loc>.<type>` or `replay.<loc>.<type>`; null for anything else. */
export function parseEventSubject(subject: string): ParsedSubject<EventType> | null {
  const [root, locationId, ...rest] = subject.split('.');
  if (root !== SUBJECT_ROOTS.events && root !== SUBJECT_ROOTS.replay) return null;
  const type = rest.join('.');
  if (!locationId || !isEventType(type)) return null;
  return { locationId, type };
}

export function parseCommandSubject(subject: string): ParsedSubject<CommandType> | null {
  const [root, locationId, ...rest] = subject.split('.');
  const type = rest.join('.');
  if (root !== SUBJECT_ROOTS.commands || !locationId || !isCommandType(type)) return null;
  return { locationId, type };
}
