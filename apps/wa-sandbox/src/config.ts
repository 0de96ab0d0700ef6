import { z } from 'zod';

/** The development token: fine on a laptop, refused when NODE_ENV=production. */
export const DEV_ADMIN_TOKEN = 'wa-sandbox-dev-token';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional();
const portFromEnv = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  WA_SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  /** WebSocket port Baileys connects to (`waWebSocketUrl`); 0 picks a free port. */
  WA_SANDBOX_WS_PORT: portFromEnv(8781),
  WA_SANDBOX_ADMIN_PORT: portFromEnv(8782),
  WA_SANDBOX_ADMIN_TOKEN: z
    .string()
    .min(16, 'WA_SANDBOX_ADMIN_TOKEN must be at least 16 characters')
    .optional(),
  /** A test tool has no business in production; this must be set on purpose to start there anyway. */
  WA_SANDBOX_ALLOW_PRODUCTION: booleanFromEnv,
  /** The real server hands out 6 refs; Baileys shows one per `qrTimeout`. */
  WA_SANDBOX_QR_REFS: z.coerce.number().int().min(1).max(20).default(6),
  WA_SANDBOX_AUTO_DELIVERY_RECEIPTS: booleanFromEnv,
  WA_SANDBOX_HISTORY_SYNC: booleanFromEnv,
  /** Drop a client silent for this long (ms); 0 = never. Keep it above the clients' keep-alive interval. */
  WA_SANDBOX_CLIENT_IDLE_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(0),
  /** Restore this snapshot at start (if the file exists) and write it back on SIGTERM/SIGINT. */
  WA_SANDBOX_STATE_FILE: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface SandboxConfig {
  host: string;
  wsPort: number;
  adminPort: number;
  adminToken: string;
  qrRefs: number;
  autoDeliveryReceipts: boolean;
  historySync: boolean;
  clientIdleTimeoutMs: number;
  stateFile?: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
}

/** Parses the environment once; throws one error naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SandboxConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`wa-sandbox: invalid environment: ${problems}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.WA_SANDBOX_ALLOW_PRODUCTION) {
    throw new Error(
      'wa-sandbox: refusing to start with NODE_ENV=production (it is a test stand-in for WhatsApp); ' +
        'set WA_SANDBOX_ALLOW_PRODUCTION=true if you really mean it',
    );
  }
  if (production && !e.WA_SANDBOX_ADMIN_TOKEN) {
    throw new Error('wa-sandbox: WA_SANDBOX_ADMIN_TOKEN is required when NODE_ENV=production');
  }
  return {
    host: e.WA_SANDBOX_HOST,
    wsPort: e.WA_SANDBOX_WS_PORT,
    adminPort: e.WA_SANDBOX_ADMIN_PORT,
    adminToken: e.WA_SANDBOX_ADMIN_TOKEN ?? DEV_ADMIN_TOKEN,
    qrRefs: e.WA_SANDBOX_QR_REFS,
    autoDeliveryReceipts: e.WA_SANDBOX_AUTO_DELIVERY_RECEIPTS ?? true,
    historySync: e.WA_SANDBOX_HISTORY_SYNC ?? true,
    clientIdleTimeoutMs: e.WA_SANDBOX_CLIENT_IDLE_TIMEOUT_MS,
    stateFile: e.WA_SANDBOX_STATE_FILE,
    logLevel: e.LOG_LEVEL,
  };
}
