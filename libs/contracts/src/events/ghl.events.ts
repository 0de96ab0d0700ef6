import { z } from 'zod';
import { e164Schema, isoDateTimeSchema, opaqueIdSchema } from '../ids';

/**
 * GHL's ProviderOutboundMessage (contract §5), received by the api and put on the bus as is, minus
 * anything we do not use. GHL may omit `phone` (then sync resolves it from the contact).
 */
export const ghlOutboundRequestedPayloadSchema = z.object({
  ghlMessageId: opaqueIdSchema,
  contactId: opaqueIdSchema,
  conversationId: opaqueIdSchema.nullable(),
  phone: e164Schema.nullable(),
  message: z.string().max(65536).nullable(),
  attachments: z.array(z.url()).max(20),
  userId: opaqueIdSchema.nullable(),
  providerType: z.string().min(1).max(50),
});

/** What sync did with one WhatsApp event in GHL: the timeline shows it beside the event. */
export const ghlSyncResultPayloadSchema = z.object({
  sourceEventId: opaqueIdSchema,
  sourceEventType: z.string().min(1).max(100),
  waMessageId: opaqueIdSchema.nullable(),
  ghlMessageId: opaqueIdSchema.nullable(),
  outcome: z.enum(['applied', 'skipped_duplicate', 'failed']),
  detail: z.string().max(1000).nullable(),
});

export const ghlTokenRefreshedPayloadSchema = z.object({
  resource: z.enum(['location', 'company']),
  expiresAt: isoDateTimeSchema,
});

export const ghlReauthRequiredPayloadSchema = z.object({
  reason: z.string().min(1).max(500),
});

export const installationChangedPayloadSchema = z.object({
  change: z.enum(['installed', 'uninstalled']),
  companyId: opaqueIdSchema.nullable(),
  installType: z.enum(['Location', 'Company']).nullable(),
});
