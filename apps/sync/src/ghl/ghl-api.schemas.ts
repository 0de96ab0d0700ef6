import { z } from 'zod';

/**
 * The parts of GHL's answers the sync reads (GHL-CONTRACT §2-§4). Loose objects: GHL adds fields over
 * time, and an unknown field must not break a sync.
 */

const nullableString = z.string().nullish();

export const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive(),
  scope: z.string().optional(),
  userType: z.enum(['Location', 'Company']),
  locationId: z.string().min(1).optional(),
  companyId: z.string().min(1).optional(),
  userId: z.string().optional(),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/** `/oauth/locationToken`; `refresh_token` was added in 2026 (ISSUE #285), so older answers lack it. */
export const locationTokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().positive(),
  scope: z.string().optional(),
  locationId: z.string().min(1),
});
export type LocationTokenResponse = z.infer<typeof locationTokenResponseSchema>;

export const installedLocationsSchema = z.looseObject({
  locations: z.array(z.looseObject({ _id: z.string().min(1), isInstalled: z.boolean().optional() })),
  count: z.number().optional(),
});

export const contactSchema = z.looseObject({
  id: z.string().min(1),
  name: nullableString,
  firstName: nullableString,
  lastName: nullableString,
  phone: nullableString,
});
export type GhlContact = z.infer<typeof contactSchema>;

export const duplicateContactSchema = z.looseObject({ contact: contactSchema.nullable().optional() });
export const upsertContactSchema = z.looseObject({ new: z.boolean().optional(), contact: contactSchema });
export const contactEnvelopeSchema = z.looseObject({ contact: contactSchema });

export const conversationSearchSchema = z.looseObject({
  conversations: z.array(z.looseObject({ id: z.string().min(1), contactId: z.string().optional() })),
});
export const createConversationSchema = z.looseObject({
  conversation: z.looseObject({ id: z.string().min(1) }),
});

export const inboundMessageResponseSchema = z.looseObject({
  conversationId: z.string().min(1),
  messageId: z.string().min(1),
});

export const messageSchema = z.looseObject({
  id: z.string().min(1),
  direction: z.string().optional(),
  body: nullableString,
  dateAdded: nullableString,
  /** Not in the spec's GetMessageResponseDto; read when present. */
  altId: nullableString,
  attachments: z.array(z.string()).nullish(),
});
export type GhlMessage = z.infer<typeof messageSchema>;

export const messagePageSchema = z.looseObject({
  lastMessageId: nullableString,
  nextPage: z.boolean().nullish(),
  messages: z.array(messageSchema),
});

/** The live API nests the page (`{messages:{messages:[…]}}`, ISSUE #54); the spec shows it flat. */
export const messageListSchema = z
  .union([z.looseObject({ messages: messagePageSchema }), messagePageSchema])
  .transform((body): z.infer<typeof messagePageSchema> =>
    Array.isArray(body.messages) ? (body as z.infer<typeof messagePageSchema>) : body.messages,
  );

/** `POST /conversations/messages/upload`: file name → URL (GHL-CONTRACT §4.7). */
export const uploadFilesSchema = z.looseObject({
  uploadedFiles: z.record(z.string(), z.string().min(1)),
});
