import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GLOBAL_SCOPE, isoDateTimeSchema, locationIdSchema, opaqueIdSchema } from './ids';

/**
 * Every message on the bus is an envelope. `id` is unique and doubles as the JetStream de-duplication
 * id (`Nats-Msg-Id`), so a publisher retrying after a lost ack cannot create a second copy.
 * `correlationId` follows one user-visible story end to end; `causationId` names the envelope that
 * directly caused this one (null for a story's first message).
 */
export interface Envelope<TType extends string = string, TPayload = unknown> {
  id: string;
  type: TType;
  version: number;
  occurredAt: string;
  locationId: string;
  correlationId: string;
  causationId: string | null;
  payload: TPayload;
}

export const envelopeHeaderSchema = z.object({
  id: opaqueIdSchema,
  type: z.string().min(1).max(100),
  version: z.number().int().positive(),
  occurredAt: isoDateTimeSchema,
  locationId: locationIdSchema,
  correlationId: opaqueIdSchema,
  causationId: opaqueIdSchema.nullable(),
});

/** Builds the zod schema of one concrete envelope: its literal type and version, and its payload. */
export function envelopeSchema<TType extends string, TPayload extends z.ZodType>(
  type: TType,
  version: number,
  payload: TPayload,
  scope: 'location' | 'global' = 'location',
) {
  return envelopeHeaderSchema.extend({
    type: z.literal(type),
    version: z.literal(version),
    // A command about no single location carries the reserved scope token instead of an id.
    locationId: scope === 'global' ? z.literal(GLOBAL_SCOPE) : locationIdSchema,
    payload,
  });
}

/** Metadata a caller may set when creating an envelope; everything else is defaulted. */
export interface EnvelopeMeta {
  /** Deterministic id for natural de-duplication (e.g. derived from a WhatsApp message id). */
  id?: string;
  correlationId?: string;
  /** The envelope being handled when this one was created: sets causation and inherits correlation. */
  causedBy?: Pick<Envelope, 'id' | 'correlationId'>;
  occurredAt?: Date;
}

export function newEnvelopeHeader(meta: EnvelopeMeta = {}) {
  const id = meta.id ?? randomUUID();
  return {
    id,
    occurredAt: (meta.occurredAt ?? new Date()).toISOString(),
    correlationId: meta.correlationId ?? meta.causedBy?.correlationId ?? id,
    causationId: meta.causedBy?.id ?? null,
  };
}
