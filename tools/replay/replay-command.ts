import { parseArgs } from 'node:util';
import { parseDuration } from '@app/config';
import {
  isReplayableEventType,
  locationIdSchema,
  REPLAYABLE_EVENT_TYPES,
  type ReplayableEventType,
} from '@app/contracts';
import { z } from 'zod';

export const USAGE = `Replay stored events to sync, and handle dead letters.

  replay events --location <id> [--since <when>] [--until <when> | --day <YYYY-MM-DD>]
                [--types <type,...>] [--dry-run] [--rate <events/s>] [--wait <duration>] [--quiet]
      Re-feed a location's events to sync on replay.<location>.<type> (its own consumers, so live
      traffic is not disturbed). Already applied events are skipped. Default window: the last 24 h.
      Types: ${REPLAYABLE_EVENT_TYPES.join(', ')} (default: all of them).

  replay dead-letter <seq> [--dry-run] [--wait <duration>]
      Re-feed the event of one dead letter (its DLQ sequence) to sync on the replay subject; the dead
      letter stays (redrive moves it instead).

  replay dead-letters list [--location <id>] [--limit <n>]
  replay dead-letters redrive (<seq> | --location <id> | --all) [--dry-run] [--wait <duration>]
      Put dead letters back on their original subject and remove them from the DLQ.
  replay dead-letters purge (<seq> | --location <id> | --all) [--yes]
      Delete dead letters for good (asks first unless --yes).

  <when>: an ISO 8601 time (2026-01-31T10:00:00Z), a duration ago (90m, 24h, 7d) or "now".
  --wait: how long to wait for outcomes after the last event is sent (default 60s; 0 for none).
  Environment: NATS_URL (default nats://127.0.0.1:4222).
  Exit status: 0 all applied or skipped, 1 some failed or without outcome, 2 bad usage, 130 stopped (Ctrl-C).`;

export interface EventSelection {
  locationId: string;
  since: Date;
  until: Date;
  types: ReplayableEventType[];
}

export type DeadLetterTarget =
  { kind: 'one'; seq: number } | { kind: 'location'; locationId: string } | { kind: 'all' };

export type ReplayCommand =
  | { kind: 'help' }
  | {
      kind: 'events';
      selection: EventSelection;
      dryRun: boolean;
      /** Events per second at most; 0 for as fast as the window allows. */
      rate: number;
      waitMs: number;
      quiet: boolean;
    }
  | { kind: 'dead-letter'; seq: number; dryRun: boolean; waitMs: number }
  | { kind: 'dead-letters-list'; locationId: string | undefined; limit: number }
  | { kind: 'redrive'; target: DeadLetterTarget; dryRun: boolean; waitMs: number }
  | { kind: 'purge'; target: DeadLetterTarget; yes: boolean };

/** A mistake in the command line: printed with the usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const DAY_MS = 86_400_000;
const DEFAULT_WAIT_MS = 60_000;
const DEFAULT_LOOKBACK_MS = DAY_MS;

const OPTIONS = {
  location: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  day: { type: 'string' },
  types: { type: 'string' },
  'dry-run': { type: 'boolean' },
  rate: { type: 'string' },
  wait: { type: 'string' },
  quiet: { type: 'boolean' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  yes: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Reads the command line (after `node replay.cli.js`); throws `UsageError` naming what is wrong. */
export function parseReplayCommand(argv: readonly string[], now: Date = new Date()): ReplayCommand {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return { kind: 'help' };
  const [command, ...rest] = positionals;
  switch (command) {
    case 'events':
      noPositionals(rest, 'events');
      only(
        values,
        ['location', 'since', 'until', 'day', 'types', 'dry-run', 'rate', 'wait', 'quiet'],
        'events',
      );
      return {
        kind: 'events',
        selection: eventSelection(values, now),
        dryRun: values['dry-run'] ?? false,
        rate: values.rate === undefined ? 0 : positiveInteger(values.rate, '--rate'),
        waitMs: waitOf(values.wait),
        quiet: values.quiet ?? false,
      };
    case 'dead-letter': {
      only(values, ['dry-run', 'wait'], 'dead-letter');
      if (rest.length !== 1)
        throw new UsageError('dead-letter takes one DLQ sequence, e.g. "dead-letter 42"');
      return {
        kind: 'dead-letter',
        seq: positiveInteger(rest[0], 'the DLQ sequence'),
        dryRun: values['dry-run'] ?? false,
        waitMs: waitOf(values.wait),
      };
    }
    case 'dead-letters':
      return deadLetterCommand(rest, values);
    default:
      throw new UsageError(`unknown command "${command}" (events, dead-letter, dead-letters)`);
  }
}

function deadLetterCommand(args: string[], values: Values): ReplayCommand {
  const [action, ...rest] = args;
  switch (action) {
    case 'list':
      noPositionals(rest, 'dead-letters list');
      only(values, ['location', 'limit'], 'dead-letters list');
      return {
        kind: 'dead-letters-list',
        locationId: values.location === undefined ? undefined : locationOf(values.location),
        limit: values.limit === undefined ? 100 : positiveInteger(values.limit, '--limit'),
      };
    case 'redrive':
      only(values, ['location', 'all', 'dry-run', 'wait'], 'dead-letters redrive');
      return {
        kind: 'redrive',
        target: targetOf(rest, values),
        dryRun: values['dry-run'] ?? false,
        waitMs: waitOf(values.wait),
      };
    case 'purge':
      only(values, ['location', 'all', 'yes'], 'dead-letters purge');
      return { kind: 'purge', target: targetOf(rest, values), yes: values.yes ?? false };
    default:
      throw new UsageError(`dead-letters needs list, redrive or purge${action ? ` (not "${action}")` : ''}`);
  }
}

function targetOf(rest: string[], values: Values): DeadLetterTarget {
  const chosen = [rest.length > 0, values.location !== undefined, values.all === true].filter(Boolean);
  if (chosen.length !== 1 || rest.length > 1) {
    throw new UsageError('name exactly one of: a DLQ sequence, --location <id>, or --all');
  }
  if (rest.length === 1) return { kind: 'one', seq: positiveInteger(rest[0], 'the DLQ sequence') };
  if (values.location !== undefined) return { kind: 'location', locationId: locationOf(values.location) };
  return { kind: 'all' };
}

export function eventSelection(values: Values, now: Date): EventSelection {
  if (values.location === undefined) throw new UsageError('events needs --location <id>');
  const locationId = locationOf(values.location);
  let since: Date;
  let until: Date;
  if (values.day !== undefined) {
    if (values.since !== undefined || values.until !== undefined) {
      throw new UsageError('--day sets the whole window; do not combine it with --since or --until');
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(values.day) || Number.isNaN(Date.parse(`${values.day}T00:00:00Z`))) {
      throw new UsageError(`--day must be a date like 2026-01-31 (UTC), not "${values.day}"`);
    }
    since = new Date(`${values.day}T00:00:00.000Z`);
    until = new Date(since.getTime() + DAY_MS - 1);
  } else {
    since =
      values.since === undefined
        ? new Date(now.getTime() - DEFAULT_LOOKBACK_MS)
        : when(values.since, '--since', now);
    until = values.until === undefined ? now : when(values.until, '--until', now);
  }
  if (since.getTime() > until.getTime()) {
    throw new UsageError(
      `the window is empty: --since ${since.toISOString()} is after --until ${until.toISOString()}`,
    );
  }
  return { locationId, since, until, types: typesOf(values.types) };
}

/** An ISO 8601 time with a zone, a duration ago, or `now`. */
export function when(text: string, what: string, now: Date): Date {
  if (text === 'now') return now;
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(now.getTime() - ago);
  if (z.iso.datetime({ offset: true }).safeParse(text).success) return new Date(text);
  throw new UsageError(
    `${what} must be an ISO 8601 time with a zone (2026-01-31T10:00:00Z), a duration ago (90m, 24h, 7d) or "now", not "${text}"`,
  );
}

function typesOf(text: string | undefined): ReplayableEventType[] {
  if (text === undefined) return [...REPLAYABLE_EVENT_TYPES];
  const types = [
    ...new Set(
      text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = types.filter((t) => !isReplayableEventType(t));
  if (types.length === 0 || unknown.length > 0) {
    throw new UsageError(
      `--types: ${unknown.length ? `"${unknown.join('", "')}" cannot be replayed` : 'no type given'}; replayable types: ${REPLAYABLE_EVENT_TYPES.join(', ')}`,
    );
  }
  return types as ReplayableEventType[];
}

function locationOf(text: string): string {
  const parsed = locationIdSchema.safeParse(text);
  if (!parsed.success) throw new UsageError(`--location: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

function positiveInteger(text: string, what: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${what} must be a whole number of at least 1, not "${text}"`);
  }
  return value;
}

function waitOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_WAIT_MS;
  if (text === '0') return 0;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`--wait must be a duration such as 30s or 5m (or 0), not "${text}"`);
  return ms;
}

function noPositionals(rest: string[], command: string): void {
  if (rest.length > 0) throw new UsageError(`${command} takes no argument "${rest[0]}"`);
}

function only(values: Values, allowed: (keyof Values)[], command: string): void {
  const extra = Object.keys(values).filter((key) => !allowed.includes(key as keyof Values));
  if (extra.length > 0) throw new UsageError(`${command} does not take --${extra.join(', --')}`);
}
