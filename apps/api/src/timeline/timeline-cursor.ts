import { z } from 'zod';

/**
 * Where the next page of a timeline starts in each stream (null: that stream has nothing more in the
 * window), and the window itself, so every page of one listing reads the same window even when `until`
 * defaulted to "now". Opaque to clients: base64url JSON.
 */
export interface TimelineCursor {
  events: number | null;
  deadLetters: number | null;
  sinceMs: number;
  untilMs: number;
}

const seq = z.number().int().min(1).nullable();
const wireSchema = z
  .object({ v: z.literal(1), e: seq, d: seq, s: z.number().int(), u: z.number().int() })
  .strict();

export function encodeCursor(cursor: TimelineCursor): string {
  const wire = { v: 1, e: cursor.events, d: cursor.deadLetters, s: cursor.sinceMs, u: cursor.untilMs };
  return Buffer.from(JSON.stringify(wire)).toString('base64url');
}

/** Null for anything that is not a cursor this api made. */
export function decodeCursor(text: string): TimelineCursor | null {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = wireSchema.safeParse(raw);
  if (!parsed.success || parsed.data.s > parsed.data.u) return null;
  const { e, d, s, u } = parsed.data;
  return { events: e, deadLetters: d, sinceMs: s, untilMs: u };
}
