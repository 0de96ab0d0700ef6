import { DEV_SECRETS } from '@app/config';
import { z } from 'zod';

/**
 * Scopes a WhatsApp bridge needs (GHL-CONTRACT §2.6), granted by default when the choose-location
 * URL names none.
 */
export const DEFAULT_SCOPES = [
  'contacts.readonly',
  'contacts.write',
  'conversations.readonly',
  'conversations.write',
  'conversations/message.readonly',
  'conversations/message.write',
  'locations.readonly',
  'oauth.readonly',
  'oauth.write',
  'marketplace-installer-details.readonly',
];

export const DEMO_LOCATION_ID = 'demoLocation0001';
export const DEMO_LOCATION_NAME = 'Demo Location';
export const DEMO_COMPANY_ID = 'demoCompany00001';
export const DEMO_PROVIDER_ID = 'demoProvider0001';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The sandbox configuration, as `startGhlSandbox` takes it (every field has a default). */
export const sandboxConfigSchema = z
  .object({
    /** 0 picks a free port (tests). */
    port: z.number().int().min(0).max(65_535).default(8090),
    host: z.string().min(1).default('127.0.0.1'),
    /** How clients reach the sandbox; defaults to http://host:port once it listens. */
    publicUrl: z.url().optional(),
    adminToken: z.string().min(1).default('sandbox-admin-token'),
    clientId: z.string().min(1).default(DEV_SECRETS.GHL_CLIENT_ID),
    clientSecret: z.string().min(1).default(DEV_SECRETS.GHL_CLIENT_SECRET),
    /** Defaults to `clientId.split('-')[0]`, the SDK's derivation (GHL-CONTRACT §2.1). */
    appId: z.string().min(1).optional(),
    versionId: z.string().min(1).optional(),
    /** The app's custom-page shared secret (§8). */
    sharedSecret: z.string().min(1).default(DEV_SECRETS.GHL_APP_SHARED_SECRET),
    scopes: z.array(z.string().min(1)).default(DEFAULT_SCOPES),
    seedDemo: z.boolean().default(false),
    providerDeliveryUrl: z.url().default('http://127.0.0.1:3000/webhooks/ghl/provider'),
    /** The app's default webhook URL: INSTALL / UNINSTALL go there. */
    webhookUrl: z.url().optional(),
    /** The choose-location page approves at once (demo); defaults to `seedDemo`. */
    autoApprove: z.boolean().optional(),
    /** Status updates answer 403 for this long after a message is created (§4.5, ISSUE #4). */
    statusUpdateDelaySeconds: z.number().min(0).default(3),
    rateLimit: z
      .object({
        max: z.number().int().positive().default(100),
        intervalMs: z.number().int().positive().default(10_000),
        daily: z.number().int().positive().default(200_000),
        /** Whether a 429 carries `Retry-After` (undocumented, §12 question 1): off by default. */
        retryAfterHeader: z.boolean().default(false),
      })
      .prefault({}),
    webhook: z
      .object({
        /** GHL waits ~10 minutes between retries (§6.3); the sandbox compresses that. */
        retryDelayMs: z.number().int().min(0).default(1_000),
        maxRetries: z.number().int().min(0).default(6),
        timeoutMs: z.number().int().positive().default(10_000),
        signRsa: z.boolean().default(true),
      })
      .prefault({}),
    accessTokenTtlSeconds: z.number().int().positive().default(86_399),
    /**
     * Largest file `POST /conversations/messages/upload` takes (413 above it). Undocumented for this
     * endpoint; 5 MB is what GHL's signed-URL upload documents for channels other than WhatsApp.
     */
    uploadMaxBytes: z
      .number()
      .int()
      .positive()
      .default(5 * 1024 * 1024),
    /** strict: only the spec's Version value per operation; live: any of the four values live GHL accepts. */
    versionMode: z.enum(['strict', 'live']).default('strict'),
    /** class-validator's forbidNonWhitelisted: `property X should not exist` (ISSUE #262). */
    rejectUnknownProperties: z.boolean().default(true),
    ed25519PrivateKeyPem: z.string().min(1).optional(),
    rsaPrivateKeyPem: z.string().min(1).optional(),
    logLevel: z.enum(logLevels).default('info'),
    openapiDir: z.string().min(1).optional(),
  })
  .strict();

export type SandboxConfigInput = z.input<typeof sandboxConfigSchema>;
export type SandboxConfig = z.output<typeof sandboxConfigSchema> & { appId: string; versionId: string };

export function parseSandboxConfig(input: SandboxConfigInput = {}): SandboxConfig {
  const parsed = sandboxConfigSchema.parse(input);
  const appId = parsed.appId ?? parsed.clientId.split('-')[0];
  return { ...parsed, appId, versionId: parsed.versionId ?? appId };
}

const flag = z.stringbool({ truthy: ['1', 'true', 'yes', 'on'], falsy: ['0', 'false', 'no', 'off', ''] });
const int = z.coerce.number().int();

/** Environment variables the entrypoint reads; each one maps to a config field. */
const envSchema = z.object({
  PORT: int.min(0).max(65_535).optional(),
  HOST: z.string().min(1).optional(),
  PUBLIC_URL: z.url().optional(),
  ADMIN_TOKEN: z.string().min(1).optional(),
  CLIENT_ID: z.string().min(1).optional(),
  CLIENT_SECRET: z.string().min(1).optional(),
  APP_ID: z.string().min(1).optional(),
  VERSION_ID: z.string().min(1).optional(),
  SHARED_SECRET: z.string().min(1).optional(),
  SCOPES: z.string().min(1).optional(),
  SEED_DEMO: flag.optional(),
  PROVIDER_DELIVERY_URL: z.url().optional(),
  WEBHOOK_URL: z.url().optional(),
  AUTO_APPROVE: flag.optional(),
  STATUS_UPDATE_DELAY_SECONDS: z.coerce.number().min(0).optional(),
  RATE_LIMIT_MAX: int.positive().optional(),
  RATE_LIMIT_INTERVAL_MS: int.positive().optional(),
  RATE_LIMIT_DAILY: int.positive().optional(),
  RATE_LIMIT_RETRY_AFTER: flag.optional(),
  WEBHOOK_RETRY_DELAY_MS: int.min(0).optional(),
  WEBHOOK_MAX_RETRIES: int.min(0).optional(),
  WEBHOOK_TIMEOUT_MS: int.positive().optional(),
  WEBHOOK_SIGN_RSA: flag.optional(),
  ACCESS_TOKEN_TTL_SECONDS: int.positive().optional(),
  UPLOAD_MAX_BYTES: int.positive().optional(),
  VERSION_MODE: z.enum(['strict', 'live']).optional(),
  REJECT_UNKNOWN_PROPERTIES: flag.optional(),
  ED25519_PRIVATE_KEY: z.string().min(1).optional(),
  RSA_PRIVATE_KEY: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(logLevels).optional(),
  OPENAPI_DIR: z.string().min(1).optional(),
});

export class SandboxConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid GHL sandbox configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SandboxConfigError';
  }
}

/** Parses the environment once, failing with a message that names every bad variable. */
export function loadSandboxConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxConfig {
  const known = Object.fromEntries(
    Object.keys(envSchema.shape)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const result = envSchema.safeParse(known);
  if (!result.success) {
    throw new SandboxConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = result.data;
  const pemFromEnv = (value: string | undefined): string | undefined => value?.replace(/\\n/g, '\n');
  return parseSandboxConfig({
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL,
    adminToken: e.ADMIN_TOKEN,
    clientId: e.CLIENT_ID,
    clientSecret: e.CLIENT_SECRET,
    appId: e.APP_ID,
    versionId: e.VERSION_ID,
    sharedSecret: e.SHARED_SECRET,
    scopes: e.SCOPES?.split(/[\s,]+/).filter(Boolean),
    seedDemo: e.SEED_DEMO,
    providerDeliveryUrl: e.PROVIDER_DELIVERY_URL,
    webhookUrl: e.WEBHOOK_URL,
    autoApprove: e.AUTO_APPROVE,
    statusUpdateDelaySeconds: e.STATUS_UPDATE_DELAY_SECONDS,
    rateLimit: {
      max: e.RATE_LIMIT_MAX,
      intervalMs: e.RATE_LIMIT_INTERVAL_MS,
      daily: e.RATE_LIMIT_DAILY,
      retryAfterHeader: e.RATE_LIMIT_RETRY_AFTER,
    },
    webhook: {
      retryDelayMs: e.WEBHOOK_RETRY_DELAY_MS,
      maxRetries: e.WEBHOOK_MAX_RETRIES,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      signRsa: e.WEBHOOK_SIGN_RSA,
    },
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    versionMode: e.VERSION_MODE,
    rejectUnknownProperties: e.REJECT_UNKNOWN_PROPERTIES,
    ed25519PrivateKeyPem: pemFromEnv(e.ED25519_PRIVATE_KEY),
    rsaPrivateKeyPem: pemFromEnv(e.RSA_PRIVATE_KEY),
    logLevel: e.LOG_LEVEL,
    openapiDir: e.OPENAPI_DIR,
  });
}
