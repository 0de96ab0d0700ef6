import { e164Schema, locationIdSchema, opaqueIdSchema, SESSION_STATES } from '@app/contracts';
import { INSTALL_TYPES, INSTALLATION_STATUSES } from '@app/persistence';
import { z } from 'zod';
import { INSTALLATION_HEALTHS, NEXT_ACTIONS } from './session-explanation';

const isoDate = z.iso.datetime();

export const locationParamsSchema = z.object({ locationId: locationIdSchema });

export const explanationSchema = z.object({
  headline: z.string(),
  detail: z.string(),
  nextStep: z.string(),
  action: z.enum(NEXT_ACTIONS),
});

/** `not_started`: no session was ever started for the location. */
export const statusStateSchema = z.enum([...SESSION_STATES, 'not_started']);

export const locationStatusSchema = z.object({
  locationId: locationIdSchema,
  whatsapp: z.object({
    state: statusStateSchema,
    desiredState: z.enum(['running', 'stopped']).nullable(),
    phone: z.string().nullable(),
    pushName: z.string().nullable(),
    lastDisconnect: z
      .object({
        code: z.number().int().nullable(),
        reason: z.string().nullable(),
        meaning: z.string().nullable(),
      })
      .nullable(),
    owner: z
      .object({
        workerId: z.string(),
        /** Judged by the database clock. */
        live: z.boolean(),
        leaseExpiresAt: isoDate,
        epoch: z.number().int(),
      })
      .nullable(),
    qr: z.object({
      available: z.boolean(),
      expiresAt: isoDate.nullable(),
      expiresInSeconds: z.number().int().nullable(),
    }),
    updatedAt: isoDate.nullable(),
  }),
  ghl: z.object({
    health: z.enum(INSTALLATION_HEALTHS),
    status: z.enum(INSTALLATION_STATUSES).nullable(),
    installType: z.enum(INSTALL_TYPES).nullable(),
    companyId: z.string().nullable(),
    reason: z.string().nullable(),
    installedAt: isoDate.nullable(),
    /** The access token's expiry; sync refreshes it when needed, so an expired one is not a problem. */
    tokenExpiresAt: isoDate.nullable(),
  }),
  explanation: explanationSchema,
  checkedAt: isoDate,
});
export type LocationStatus = z.infer<typeof locationStatusSchema>;

export const locationListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    after: locationIdSchema.optional(),
    includeUninstalled: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
  })
  .strict();

export const locationListSchema = z.object({
  locations: z.array(locationStatusSchema),
  /** Pass as `after` for the next page; null on the last page. */
  next: locationIdSchema.nullable(),
});

export const commandAcceptedSchema = z.object({
  locationId: locationIdSchema,
  state: statusStateSchema,
  /** Set when no worker owned the session, so the request was recorded in the database instead. */
  desiredState: z.enum(['running', 'stopped']).nullable(),
  workerId: z.string().nullable(),
  message: z.string(),
});

export const pairingCodeBodySchema = z.object({ phone: e164Schema }).strict();
export const pairingCodeSchema = z.object({
  code: z.string(),
  expiresAt: isoDate,
  phone: e164Schema,
  howTo: z.string(),
});

export const sendMessageBodySchema = z
  .object({
    to: e164Schema,
    text: z.string().min(1).max(4096),
    /** Idempotency key: the same id sends one WhatsApp message however often it is retried. */
    clientMessageId: opaqueIdSchema.optional(),
  })
  .strict();
export const sentMessageSchema = z.object({
  waMessageId: z.string(),
  sentAt: isoDate,
  clientMessageId: z.string(),
});

export const recentEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  occurredAt: isoDate,
  correlationId: z.string(),
  summary: z.string(),
});
export const recentEventsQuerySchema = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(25) })
  .strict();
export const recentEventsSchema = z.object({ events: z.array(recentEventSchema) });

export const debugSchema = z.object({
  status: locationStatusSchema,
  session: z
    .object({
      desiredState: z.string(),
      state: z.string(),
      ownerWorkerId: z.string().nullable(),
      stateEpoch: z.number().int(),
      qrExpiresAt: isoDate.nullable(),
      lastDisconnectCode: z.number().int().nullable(),
      lastDisconnectReason: z.string().nullable(),
      updatedAt: isoDate,
    })
    .nullable(),
  lease: z
    .object({
      ownerId: z.string(),
      epoch: z.number().int(),
      expiresAt: isoDate,
      acquiredAt: isoDate,
      renewedAt: isoDate,
      live: z.boolean(),
      expiresInMs: z.number().int(),
    })
    .nullable(),
  ownerWorker: z
    .object({
      workerId: z.string(),
      startedAt: isoDate,
      heartbeatAt: isoDate,
      heartbeatAgeMs: z.number().int(),
      capacity: z.number().int(),
      ownedCount: z.number().int(),
      draining: z.boolean(),
    })
    .nullable(),
  authState: z.object({
    keys: z.number().int(),
    hasCredentials: z.boolean(),
    lastWrittenAt: isoDate.nullable(),
    lastWrittenEpoch: z.number().int().nullable(),
  }),
  installation: z
    .object({
      status: z.string(),
      installType: z.string(),
      companyId: z.string().nullable(),
      statusReason: z.string().nullable(),
      installedAt: isoDate,
      uninstalledAt: isoDate.nullable(),
      updatedAt: isoDate,
    })
    .nullable(),
  tokens: z.array(
    z.object({
      resource: z.enum(['location', 'company']),
      kind: z.string(),
      expiresAt: isoDate,
      expired: z.boolean(),
      expiresInSeconds: z.number().int(),
      scopes: z.array(z.string()),
      revision: z.number().int(),
      updatedAt: isoDate,
    }),
  ),
  recentEvents: z.array(recentEventSchema),
  dbNow: isoDate,
});
