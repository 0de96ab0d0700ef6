import type { z } from 'zod';
import { defineEnvSchema } from '../define-env-schema';
import { DEV_SECRETS } from '../dev-defaults';
import { duration, httpBaseUrl, integer, nonEmpty } from '../env-parsers';
import { envVar, optionalEnvVar, secretVar, type EnvParser } from '../env-var';
import { httpPortVar } from '../shared-env.schema';

/** `true`/`false` (also 1/0, yes/no, on/off): a switch. */
const flag: EnvParser<boolean> = (raw) => {
  const value = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return { ok: true, value: true };
  if (['0', 'false', 'no', 'off'].includes(value)) return { ok: true, value: false };
  return { ok: false, message: 'must be true or false' };
};

/** A GHL id: letters, digits, `_` and `-` (it may travel in subjects and URLs). */
const ghlId: EnvParser<string> = (raw) =>
  /^[A-Za-z0-9_-]{1,64}$/.test(raw)
    ? { ok: true, value: raw }
    : { ok: false, message: 'must be 1-64 letters, digits, "_" or "-"' };

export interface PrivateIntegrationToken {
  locationId: string;
  token: string;
}

/**
 * `locationId=token` pairs, comma separated: Private Integration tokens for self-hosted contact sync.
 * The message never echoes a value, as these are secrets.
 */
const privateIntegrationTokens: EnvParser<PrivateIntegrationToken[]> = (raw) => {
  const pairs: PrivateIntegrationToken[] = [];
  for (const part of raw.split(',').map((p) => p.trim())) {
    const eq = part.indexOf('=');
    const locationId = part.slice(0, eq);
    const token = part.slice(eq + 1);
    if (eq < 1 || !ghlId(locationId).ok || token.length < 8 || /\s/.test(token)) {
      return { ok: false, message: 'must be locationId=token pairs separated by commas' };
    }
    if (pairs.some((p) => p.locationId === locationId)) {
      return { ok: false, message: 'names a location twice' };
    }
    pairs.push({ locationId, token });
  }
  return { ok: true, value: pairs };
};

const sync = defineEnvSchema({
  HTTP_PORT: httpPortVar(3002),
  /** GHL's REST API; the GHL sandbox in tests and local runs. */
  GHL_API_BASE_URL: envVar(httpBaseUrl, 'https://services.leadconnectorhq.com'),
  /** Needed to exchange codes and refresh tokens. */
  GHL_CLIENT_ID: secretVar(nonEmpty, DEV_SECRETS.GHL_CLIENT_ID),
  GHL_CLIENT_SECRET: secretVar(nonEmpty, DEV_SECRETS.GHL_CLIENT_SECRET),
  /** The marketplace app id (for `/oauth/installedLocations`); defaults to the client id's prefix, as GHL's SDK derives it. */
  GHL_APP_ID: optionalEnvVar(ghlId),
  /**
   * The conversation provider (an extra SMS provider, GHL-CONTRACT §5) inbound messages are written
   * with. Unset: no provider id is sent (the app replaces the default SMS provider).
   */
  GHL_CONVERSATION_PROVIDER_ID: optionalEnvVar(ghlId),
  /** GHL's burst limit per app per location (100 requests / 10 s); GHL's rate-limit headers correct it at run time. */
  GHL_RATE_LIMIT_PER_10S: envVar(integer(1, 10_000), '100'),
  /** GHL's daily limit per app per location. */
  GHL_DAILY_LIMIT: envVar(integer(1, 100_000_000), '200000'),
  /** The shared per-location limiter; off only for benchmarks against a sandbox without limits. */
  GHL_RATE_LIMIT_ENABLED: envVar(flag, 'true'),
  /** Bound on one GHL call; an unanswered write is reconciled from GHL's state after it. */
  GHL_REQUEST_TIMEOUT: envVar(duration, '15s'),
  /** Access tokens are refreshed this long before they expire (they last a day). */
  GHL_TOKEN_REFRESH_MARGIN: envVar(duration, '5m'),
  /** How often idle locations' tokens nearing expiry are refreshed (events refresh theirs on demand). */
  GHL_TOKEN_SWEEP_INTERVAL: envVar(duration, '1m'),
  /** How long a location waiting for re-authorisation leaves its messages before trying them again. */
  GHL_REAUTH_RETRY_DELAY: envVar(duration, '10m'),
  /** First retry of a status update GHL refuses with 403 while the message is still being downstreamed (5-10 s). */
  GHL_STATUS_RETRY_DELAY: envVar(duration, '2s'),
  /** Private Integration tokens (`locationId=token,...`), for self-hosted contact sync without the marketplace app. */
  GHL_PRIVATE_INTEGRATION_TOKENS: optionalEnvVar(privateIntegrationTokens),
  /** Events handled at once per consumer; one chat's events stay in order whatever the value. */
  SYNC_CONCURRENCY: envVar(integer(1, 4_096), '128'),
  /** Deliveries of one event before it is dead-lettered (rate-limit waits count, so keep it generous). */
  SYNC_MAX_DELIVER: envVar(integer(2, 1_000), '20'),
  /** How long NATS waits for an ack before redelivering; longer than the slowest GHL call. */
  SYNC_ACK_WAIT: envVar(duration, '60s'),
  /** Events out at once per consumer, including those waiting for a delayed retry (rate limits). */
  SYNC_MAX_ACK_PENDING: envVar(integer(1, 1_000_000), '20000'),
  /** Replayed events handled at once; replays have consumers of their own, so live events never queue behind them. */
  SYNC_REPLAY_CONCURRENCY: envVar(integer(1, 1_024), '16'),
  /** Deliveries of a replayed event before it is reported failed (and dead-lettered): an operator is waiting. */
  SYNC_REPLAY_MAX_DELIVER: envVar(integer(1, 1_000), '5'),
});

export const syncConfigSchema = sync.schema;
export type SyncConfig = z.output<typeof syncConfigSchema>;
export const SYNC_ENV_VARS = sync.vars;
export const SYNC_REQUIRED_IN_PRODUCTION = sync.requiredInProduction;
