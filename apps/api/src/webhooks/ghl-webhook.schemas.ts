import { e164Schema, locationIdSchema, opaqueIdSchema } from '@app/contracts';
import { z } from 'zod';

/** GHL's ids are alphanumeric; ours travel on the bus, so they take no control characters either. */
const ghlId = opaqueIdSchema;

/** Replay protection fields (§6.2); present on INSTALL and (assumed, like the sandbox) UNINSTALL. */
const replayFields = {
  timestamp: z.iso.datetime({ offset: true }).optional(),
  webhookId: z.string().min(1).max(200).optional(),
};

export const installWebhookSchema = z.object({
  type: z.literal('INSTALL'),
  appId: ghlId.optional(),
  installType: z.enum(['Location', 'Company']),
  locationId: locationIdSchema.optional(),
  companyId: ghlId.optional(),
  userId: ghlId.optional(),
  ...replayFields,
});

export const uninstallWebhookSchema = z
  .object({
    type: z.literal('UNINSTALL'),
    appId: ghlId.optional(),
    locationId: locationIdSchema.optional(),
    companyId: ghlId.optional(),
    ...replayFields,
  })
  .refine((v) => v.locationId !== undefined || v.companyId !== undefined, {
    message: 'an UNINSTALL names a locationId or a companyId',
  });

/** Any other marketplace webhook: verified, acknowledged, not acted on. */
export const otherWebhookSchema = z.object({ type: z.string().min(1).max(100), ...replayFields });

/** GHL's ProviderOutboundMessage (§5). Only what we use is required; GHL adds fields over time. */
export const providerOutboundSchema = z.object({
  locationId: locationIdSchema,
  messageId: ghlId,
  contactId: ghlId,
  type: z.string().min(1).max(50),
  phone: z.string().max(50).nullish(),
  message: z.string().max(65_536).nullish(),
  attachments: z.array(z.url()).max(20).nullish(),
  userId: ghlId.nullish(),
  conversationId: ghlId.nullish(),
  ...replayFields,
});
export type ProviderOutbound = z.infer<typeof providerOutboundSchema>;

/** A GHL phone in E.164 or null (sync then takes the number from the contact). */
export function e164OrNull(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const compact = phone.replace(/[\s()-]/g, '');
  return e164Schema.safeParse(compact).success ? compact : null;
}

export const webhookAcceptedSchema = z.object({
  received: z.literal(true),
  type: z.string(),
  action: z.string(),
  locationIds: z.array(z.string()),
});
