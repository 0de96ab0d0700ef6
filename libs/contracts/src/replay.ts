import { z } from 'zod';
import type { EventType } from './events';
import { locationIdSchema, opaqueIdSchema } from './ids';

/**
 * Replay: an operator re-feeds stored events to sync on `replay.<locationId>.<type>` (stream REPLAY),
 * which sync reads with durable consumers of its own, so the live consumers never see them. Sync tells
 * the replay tool what it did with each one on `replay-outcome.<runId>` (core NATS, not stored).
 */

/** The event types sync acts on, and so the only ones a replay can re-feed (see apps/sync consumers). */
export const REPLAYABLE_EVENT_TYPES = [
  'message.inbound',
  'message.outbound',
  'message.status',
  'ghl.outbound_requested',
] as const satisfies readonly EventType[];
export type ReplayableEventType = (typeof REPLAYABLE_EVENT_TYPES)[number];

export function isReplayableEventType(type: string): type is ReplayableEventType {
  return (REPLAYABLE_EVENT_TYPES as readonly string[]).includes(type);
}

/** Headers of a replayed message: which run it belongs to, and the tool's key for the event. */
export const REPLAY_HEADERS = { run: 'Replay-Run', key: 'Replay-Key' } as const;

/** A run id travels as a subject token. */
export const replayRunIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a replay run id is 1-64 letters, digits, "_" or "-"');

/**
 * `retrying` is not final: sync will try the event again (it names the reason), and reports again.
 * `skipped` means nothing had to be written (already applied, or nothing for GHL in this event).
 */
export const REPLAY_OUTCOMES = ['applied', 'skipped', 'failed', 'retrying'] as const;
export type ReplayOutcomeKind = (typeof REPLAY_OUTCOMES)[number];

export const replayOutcomeSchema = z.object({
  runId: replayRunIdSchema,
  /** The `Replay-Key` header of the replayed message, echoed. */
  key: z.string().min(1).max(200),
  eventId: opaqueIdSchema,
  eventType: z.string().min(1).max(100),
  locationId: locationIdSchema,
  outcome: z.enum(REPLAY_OUTCOMES),
  detail: z.string().max(1000).nullable(),
  ghlMessageId: opaqueIdSchema.nullable(),
  /** Delivery of the replayed message this outcome is about (1 on the first). */
  deliveryCount: z.number().int().positive(),
});
export type ReplayOutcome = z.infer<typeof replayOutcomeSchema>;
