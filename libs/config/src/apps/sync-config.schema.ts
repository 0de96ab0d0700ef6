import type { z } from 'zod';
import { defineEnvSchema } from '../define-env-schema';
import { DEV_SECRETS } from '../dev-defaults';
import { httpBaseUrl, integer, nonEmpty } from '../env-parsers';
import { envVar, secretVar } from '../env-var';
import { httpPortVar } from '../shared-env.schema';

const sync = defineEnvSchema({
  HTTP_PORT: httpPortVar(3002),
  /** GHL's REST API; the GHL sandbox in tests and local runs. */
  GHL_API_BASE_URL: envVar(httpBaseUrl, 'https://services.leadconnectorhq.com'),
  /** Needed to refresh tokens. */
  GHL_CLIENT_ID: secretVar(nonEmpty, DEV_SECRETS.GHL_CLIENT_ID),
  GHL_CLIENT_SECRET: secretVar(nonEmpty, DEV_SECRETS.GHL_CLIENT_SECRET),
  /** GHL's burst limit per app per location (100 requests / 10 s). */
  GHL_RATE_LIMIT_PER_10S: envVar(integer(1, 10_000), '100'),
  /** GHL's daily limit per app per location. */
  GHL_DAILY_LIMIT: envVar(integer(1, 100_000_000), '200000'),
});

export const syncConfigSchema = sync.schema;
export type SyncConfig = z.output<typeof syncConfigSchema>;
export const SYNC_ENV_VARS = sync.vars;
export const SYNC_REQUIRED_IN_PRODUCTION = sync.requiredInProduction;
