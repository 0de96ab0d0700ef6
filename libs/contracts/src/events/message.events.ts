import { z } from 'zod';
import { e164Schema, isoDateTimeSchema, opaqueIdSchema } from '../ids';

export const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const;

/**
 * Where the session worker put the bytes of a WhatsApp media message: an object in the bus's media
 * object store (`MEDIA_BUCKET`), fetched by name. The bytes never travel inside an event.
 */
export const storedMediaSchema = z.object({
  objectName: z.string().min(1).max(500),
  sizeBytes: z.number().int().nonnegative(),
});
export type StoredMedia = z.infer<typeof storedMediaSchema>;

/**
 * Message content, shared by events and the send command. Media is metadata plus where the bytes
 * are: at a URL (outbound sends), in the media object store (`stored`, what the worker downloaded
 * from WhatsApp), or nowhere we can reach (both null: only WhatsApp has them).
 */
export const messageContentSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string().min(1).max(65536) }),
  z.object({
    kind: z.literal('media'),
    mediaType: z.enum(MEDIA_KINDS),
    mimetype: z.string().min(1).max(200),
    caption: z.string().max(4096).nullable(),
    fileName: z.string().max(500).nullable(),
    sizeBytes: z.number().int().nonnegative().nullable(),
    /** Where the bytes can be fetched from (outbound sends), or null when they are only on WhatsApp. */
    url: z.url().nullable(),
    /** The bytes in the media object store; absent or null when the worker did not store them. */
    stored: storedMediaSchema.nullable().optional(),
  }),
]);
export type MessageContent = z.infer<typeof messageContentSchema>;

/** A WhatsApp party. `phone` is null only when WhatsApp gave a LID and no phone number. */
export const waPartySchema = z.object({
  phone: e164Schema.nullable(),
  jid: z.string().min(1).max(200),
  lid: z.string().min(1).max(200).nullable(),
  pushName: z.string().max(200).nullable(),
});

export const messageInboundPayloadSchema = z.object({
  waMessageId: opaqueIdSchema,
  chatJid: z.string().min(1).max(200),
  from: waPartySchema,
  sentAt: isoDateTimeSchema,
  content: messageContentSchema,
});

/**
 * A message the linked number sent. `origin` says who typed it: `phone` means on the phone itself (GHL
 * must mirror it without triggering its provider webhook), `bridge` means through our send command.
 */
export const messageOutboundPayloadSchema = z.object({
  waMessageId: opaqueIdSchema,
  chatJid: z.string().min(1).max(200),
  to: waPartySchema,
  sentAt: isoDateTimeSchema,
  content: messageContentSchema,
  origin: z.enum(['phone', 'bridge']),
  /** Idempotency key of the send command that produced it, when `origin` is `bridge`. */
  clientMessageId: opaqueIdSchema.nullable(),
});

export const MESSAGE_STATUSES = ['sent', 'delivered', 'read', 'played', 'failed'] as const;
export const messageStatusPayloadSchema = z.object({
  waMessageId: opaqueIdSchema,
  chatJid: z.string().min(1).max(200),
  status: z.enum(MESSAGE_STATUSES),
  /** Why, when `failed`. */
  error: z.string().max(500).nullable(),
  at: isoDateTimeSchema,
});
