import { locationIdSchema } from '@app/contracts';
import { API_KEY_SCOPES } from '@app/persistence';
import { z } from 'zod';

export const sessionExchangeBodySchema = z
  .object({
    /** The encrypted user context GHL gave the page (`REQUEST_USER_DATA_RESPONSE`). */
    payload: z.string().min(1).max(16_384),
  })
  .strict();

export const devSessionBodySchema = z.object({ locationId: locationIdSchema }).strict();

export const dashboardSessionSchema = z.object({
  token: z.string(),
  expiresAt: z.iso.datetime(),
  locationId: locationIdSchema,
  user: z.object({
    userId: z.string().nullable(),
    userName: z.string().nullable(),
    role: z.string().nullable(),
  }),
});

export const createApiKeySchema = z
  .object({
    scope: z.enum(API_KEY_SCOPES),
    locationId: locationIdSchema.optional(),
    label: z.string().min(1).max(200).optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.scope === 'location' && !value.locationId) {
      ctx.addIssue({ code: 'custom', path: ['locationId'], message: 'a location key needs a locationId' });
    }
    if (value.scope === 'admin' && value.locationId) {
      ctx.addIssue({ code: 'custom', path: ['locationId'], message: 'an admin key has no locationId' });
    }
  });

export const apiKeySummarySchema = z.object({
  id: z.uuid(),
  scope: z.enum(API_KEY_SCOPES),
  locationId: locationIdSchema.nullable(),
  label: z.string().nullable(),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
});

export const createdApiKeySchema = z.object({
  /** Shown once; only its SHA-256 is stored. */
  key: z.string(),
  apiKey: apiKeySummarySchema,
});

export const apiKeyListSchema = z.object({ apiKeys: z.array(apiKeySummarySchema) });

export const apiKeyIdParamsSchema = z.object({ id: z.uuid() });
