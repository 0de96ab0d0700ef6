import { EVENT_TYPES, locationIdSchema } from '@app/contracts';
import { z } from 'zod';

/** What a timeline can show: every event type, and the location's dead letters. */
export const TIMELINE_TYPES = [...EVENT_TYPES, 'dead_letter'] as const;
export type TimelineType = (typeof TIMELINE_TYPES)[number];

const isoTime = z.iso.datetime({
  offset: true,
  message: 'must be an ISO 8601 time with a zone, e.g. 2026-01-31T10:00:00Z',
});

/** Query of `GET /api/locations/:locationId/events`. Times are when the bus stored the entry. */
export const timelineQuerySchema = z
  .object({
    /** Default: 24 hours before the request. */
    since: isoTime.optional(),
    /** Default: the time of the request. */
    until: isoTime.optional(),
    /** Comma-separated event types and/or `dead_letter`; default all. */
    types: z
      .string()
      .max(2_000)
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) return undefined;
        const types = [
          ...new Set(
            value
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
          ),
        ];
        const unknown = types.filter((t) => !(TIMELINE_TYPES as readonly string[]).includes(t));
        if (types.length === 0 || unknown.length > 0) {
          ctx.addIssue({
            code: 'custom',
            message: `${unknown.length ? `unknown type(s) ${unknown.map((t) => `"${t.slice(0, 60)}"`).join(', ')}` : 'no type given'}; known: ${TIMELINE_TYPES.join(', ')}`,
          });
          return z.NEVER;
        }
        return types as TimelineType[];
      }),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    /** `next` of the previous page; the window (since/until) is taken from it. */
    cursor: z.string().min(1).max(300).optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.since && q.until && Date.parse(q.since) > Date.parse(q.until)) {
      ctx.addIssue({ code: 'custom', path: ['since'], message: 'must not be after until' });
    }
  });
export type TimelineQuery = z.output<typeof timelineQuerySchema>;

const detailValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const timelineEntrySchema = z.object({
  kind: z.enum(['event', 'dead_letter']),
  stream: z.enum(['EVENTS', 'DLQ']),
  /** Sequence in its stream (a dead letter's is what the replay tool takes). */
  seq: z.number().int(),
  storedAt: z.iso.datetime(),
  /** The event type, or `dead_letter`. */
  type: z.string(),
  /** The event's id (for a dead letter: the failed event's, when it was a valid one). */
  eventId: z.string().nullable(),
  occurredAt: z.iso.datetime({ offset: true }).nullable(),
  correlationId: z.string().nullable(),
  /** For a GHL result: the message event it is about. */
  causationId: z.string().nullable(),
  summary: z.string(),
  /** The facts of the entry, never a secret (no QR string, pairing code or message text). */
  detail: z.record(z.string(), detailValue),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const timelinePageSchema = z.object({
  locationId: locationIdSchema,
  since: z.iso.datetime(),
  until: z.iso.datetime(),
  entries: z.array(timelineEntrySchema),
  /** Pass as `cursor` for the next page; null when the window has nothing more. */
  next: z.string().nullable(),
});

export const deadLetterQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    /** `next` of the previous page (a DLQ sequence). */
    cursor: z.coerce.number().int().min(1).optional(),
  })
  .strict();

export const adminDeadLetterQuerySchema = deadLetterQuerySchema
  .extend({ location: locationIdSchema.optional() })
  .strict();

export const deadLetterSchema = z.object({
  seq: z.number().int(),
  storedAt: z.iso.datetime(),
  locationId: z.string().nullable(),
  originalSubject: z.string(),
  eventId: z.string().nullable(),
  eventType: z.string().nullable(),
  errorKind: z.string(),
  reason: z.string(),
  consumer: z.string().nullable(),
  deliveryCount: z.number().int().nullable(),
  failedAt: z.string().nullable(),
});

export const deadLetterPageSchema = z.object({
  deadLetters: z.array(deadLetterSchema),
  next: z.number().int().nullable(),
});
