import { z } from 'zod';

/** Request bodies of the admin API (types in @app/ghl-sandbox-client/admin-api.types). */

const id = z.string().min(1).max(64);

export const createLocationSchema = z
  .object({
    id: id.optional(),
    name: z.string().min(1).optional(),
    companyId: id.optional(),
    address: z.string().optional(),
    timezone: z.string().optional(),
    country: z.string().optional(),
    active: z.boolean().optional(),
    allowDuplicateContact: z.boolean().optional(),
  })
  .strict();

export const updateLocationSchema = createLocationSchema.omit({ id: true, companyId: true });

export const createCompanySchema = z
  .object({
    id: id.optional(),
    name: z.string().min(1).optional(),
    locations: z.array(createLocationSchema.omit({ companyId: true })).optional(),
  })
  .strict();

const providerFields = {
  name: z.string().min(1).optional(),
  type: z.enum(['SMS', 'Email', 'Call']).optional(),
  isCustom: z.boolean().optional(),
  deliveryUrl: z.url(),
  outboundType: z.enum(['SMS', 'Custom', 'Email']).optional(),
};

export const createProviderSchema = z
  .object({ id: id.optional(), appId: id.optional(), ...providerFields })
  .strict();

export const updateProviderSchema = z.object(providerFields).partial().strict();

export const grantSchema = z.discriminatedUnion('userType', [
  z
    .object({
      userType: z.literal('Location'),
      locationId: id,
      userId: id.optional(),
      scopes: z.array(z.string()).optional(),
    })
    .strict(),
  z
    .object({
      userType: z.literal('Company'),
      companyId: id,
      locationIds: z.array(id).optional(),
      installToFutureLocations: z.boolean().optional(),
      userId: id.optional(),
      scopes: z.array(z.string()).optional(),
    })
    .strict(),
]);

export const issueCodeSchema = z.object({ grant: grantSchema, redirectUri: z.url().optional() }).strict();

export const issueTokenSchema = z
  .object({ locationId: id.optional(), companyId: id.optional(), scopes: z.array(z.string()).optional() })
  .strict()
  .refine(
    (v) => (v.locationId === undefined) !== (v.companyId === undefined),
    'give exactly one of locationId, companyId',
  );

export const tokenSelectorSchema = z
  .object({
    accessToken: z.string().optional(),
    refreshToken: z.string().optional(),
    locationId: id.optional(),
    companyId: id.optional(),
    kind: z.enum(['access', 'refresh', 'all']).optional(),
  })
  .strict()
  .refine(
    (v) => Boolean(v.accessToken || v.refreshToken || v.locationId || v.companyId),
    'give a token, a locationId or a companyId',
  );

export const faultSchema = z
  .object({
    match: z
      .object({
        method: z.string().optional(),
        path: z.string().optional(),
        operationId: z.string().optional(),
        locationId: z.string().optional(),
      })
      .strict()
      .optional(),
    action: z.discriminatedUnion('kind', [
      z
        .object({
          kind: z.literal('error'),
          status: z.number().int().min(400).max(599),
          body: z.unknown().optional(),
        })
        .strict(),
      z.object({ kind: z.literal('rate-limit') }).strict(),
      z.object({ kind: z.literal('delay'), ms: z.number().int().min(0).max(120_000) }).strict(),
      z.object({ kind: z.literal('drop') }).strict(),
    ]),
    times: z.number().int().positive().optional(),
    durationMs: z.number().int().positive().optional(),
  })
  .strict();

export const simulateUserMessageSchema = z
  .object({
    locationId: id,
    contactId: id.optional(),
    phone: z.string().optional(),
    message: z.string().optional(),
    attachments: z.array(z.string()).optional(),
    conversationProviderId: id.optional(),
    userId: id.optional(),
  })
  .strict()
  .refine((v) => Boolean(v.contactId || v.phone), 'give contactId or phone');

export const installWebhookSchema = z
  .object({
    locationId: id.optional(),
    companyId: id.optional(),
    url: z.url().optional(),
    wait: z.boolean().optional(),
  })
  .strict()
  .refine((v) => Boolean(v.locationId || v.companyId), 'give locationId or companyId');

export const uninstallWebhookSchema = z
  .object({
    locationId: id.optional(),
    companyId: id.optional(),
    url: z.url().optional(),
    wait: z.boolean().optional(),
    uninstall: z.boolean().optional(),
  })
  .strict()
  .refine((v) => Boolean(v.locationId || v.companyId), 'give locationId or companyId');

export const ssoSchema = z
  .object({
    userId: z.string().default('sandboxUser000000001'),
    companyId: z.string().optional(),
    role: z.enum(['admin', 'user']).default('admin'),
    type: z.enum(['agency', 'location']).default('location'),
    userName: z.string().default('Sandbox User'),
    email: z.string().default('sandbox.user@example.com'),
    activeLocation: z.string().optional(),
  })
  .strict();

export const settingsSchema = z
  .object({
    autoApprove: z.boolean().optional(),
    statusUpdateDelaySeconds: z.number().min(0).optional(),
    webhookUrl: z.url().optional(),
    versionMode: z.enum(['strict', 'live']).optional(),
    rejectUnknownProperties: z.boolean().optional(),
    signRsa: z.boolean().optional(),
    rateLimit: z
      .object({
        max: z.number().int().positive().optional(),
        intervalMs: z.number().int().positive().optional(),
        daily: z.number().int().positive().optional(),
        retryAfterHeader: z.boolean().optional(),
      })
      .strict()
      .optional(),
    webhookRetryDelayMs: z.number().int().min(0).optional(),
    webhookMaxRetries: z.number().int().min(0).optional(),
  })
  .strict();
