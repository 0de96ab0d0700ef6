import type { z } from 'zod';
import { defineEnvSchema } from '../define-env-schema';
import { DEV_SECRETS } from '../dev-defaults';
import { duration, httpBaseUrl, integer, nonEmpty, oneOf, pemPublicKey } from '../env-parsers';
import { envVar, optionalEnvVar, productionRequiredVar, secretVar, type EnvParser } from '../env-var';
import { httpPortVar } from '../shared-env.schema';

/** Long enough that guessing is out of reach; a bootstrap admin key opens every tenant. */
const MIN_PRODUCTION_ADMIN_KEY_LENGTH = 32;

/** The scopes a WhatsApp bridge asks for (GHL-CONTRACT §2.6), space separated as GHL expects them. */
export const DEFAULT_GHL_OAUTH_SCOPES = [
  'contacts.readonly',
  'contacts.write',
  'conversations.readonly',
  'conversations.write',
  'conversations/message.readonly',
  'conversations/message.write',
  'locations.readonly',
  'oauth.readonly',
  'oauth.write',
].join(' ');

/**
 * Browser origins, comma separated: `https://app.example.com` or a one-level wildcard
 * `https://*.example.com`. No path, no trailing slash; plain http only for localhost (development).
 */
const originList: EnvParser<string[]> = (raw) => {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const valid = items.every(
    (item) =>
      /^https:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(:\d{1,5})?$/i.test(item) ||
      /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/i.test(item),
  );
  return valid
    ? { ok: true, value: items.map((i) => i.toLowerCase()) }
    : {
        ok: false,
        message: 'must be comma-separated origins such as https://app.example.com or https://*.example.com',
      };
};

/** OAuth scopes: space or comma separated, normalised to GHL's space-separated form. */
const scopeList: EnvParser<string> = (raw) => {
  const scopes = raw.split(/[\s,]+/).filter((s) => s !== '');
  return scopes.length > 0 && scopes.every((s) => /^[A-Za-z0-9._/-]+$/.test(s))
    ? { ok: true, value: scopes.join(' ') }
    : { ok: false, message: 'must be GHL scopes separated by spaces or commas' };
};

const api = defineEnvSchema(
  {
    HTTP_PORT: httpPortVar(3000),
    /** Where GHL and browsers reach this api: OAuth redirect URI, custom page and webhook URLs. */
    PUBLIC_BASE_URL: envVar(httpBaseUrl, 'http://localhost:3000'),
    /** Decrypts the user context GHL hands to the embedded page (custom page SSO). */
    GHL_APP_SHARED_SECRET: secretVar(nonEmpty, DEV_SECRETS.GHL_APP_SHARED_SECRET),
    GHL_CLIENT_ID: secretVar(nonEmpty, DEV_SECRETS.GHL_CLIENT_ID),
    GHL_CLIENT_SECRET: secretVar(nonEmpty, DEV_SECRETS.GHL_CLIENT_SECRET),
    /** Where the install link sends the user to choose a location; the GHL sandbox locally. */
    GHL_MARKETPLACE_URL: envVar(httpBaseUrl, 'http://127.0.0.1:8090'),
    /** What the install link asks GHL for. */
    GHL_OAUTH_SCOPES: envVar(scopeList, DEFAULT_GHL_OAUTH_SCOPES),
    /** Verifies `x-ghl-signature`. Optional in development, where unsigned sandbox webhooks are allowed. */
    GHL_WEBHOOK_PUBLIC_KEY_ED25519: productionRequiredVar(pemPublicKey('ed25519')),
    /** Verifies the legacy `x-wh-signature`. */
    GHL_WEBHOOK_PUBLIC_KEY_RSA: productionRequiredVar(pemPublicKey('rsa')),
    /**
     * Whether a conversation-provider delivery (GHL → us, "send this over WhatsApp") must be signed.
     * GHL does not document that it signs them (GHL-CONTRACT §12 Q3); `optional` accepts unsigned ones
     * but still refuses a signature that does not verify. Unsigned deliveries let anyone who knows the
     * URL send WhatsApp messages as a tenant, so keep `required` unless GHL is seen not to sign.
     */
    GHL_PROVIDER_SIGNATURE: envVar(oneOf(['required', 'optional'] as const), 'required'),
    /** Webhooks whose `timestamp` is further than this from our clock are refused (replay window, §6.2). */
    WEBHOOK_MAX_AGE: envVar(duration, '5m'),
    /**
     * White-label GHL domains that embed the dashboard and call the API from a browser, in addition to
     * GHL's own (app.gohighlevel.com, *.gohighlevel.com, *.leadconnectorhq.com).
     */
    GHL_WHITELABEL_ORIGINS: envVar(originList, ''),
    /** Lifetime of a dashboard session minted from GHL's user context. */
    DASHBOARD_SESSION_TTL: envVar(duration, '15m'),
    /** Sustained requests per second per credential on /api (token bucket refill). */
    API_RATE_LIMIT_PER_SECOND: envVar(integer(1, 1_000_000), '20'),
    /** Requests a credential may burst above the sustained rate. */
    API_RATE_LIMIT_BURST: envVar(integer(1, 1_000_000), '60'),
    /** Proxies in front of the api whose `X-Forwarded-For` is trusted (an ingress is 1); 0 trusts none. */
    HTTP_TRUST_PROXY_HOPS: envVar(integer(0, 10), '0'),
    /** Bootstrap key for the first admin calls, before any key exists in `api_keys`. */
    ADMIN_API_KEY: optionalEnvVar(nonEmpty),
  },
  {
    crossCheck: ({ NODE_ENV, ADMIN_API_KEY }, report) => {
      if (
        NODE_ENV === 'production' &&
        ADMIN_API_KEY &&
        ADMIN_API_KEY.length < MIN_PRODUCTION_ADMIN_KEY_LENGTH
      ) {
        report(
          'ADMIN_API_KEY',
          `must be at least ${MIN_PRODUCTION_ADMIN_KEY_LENGTH} characters in production`,
        );
      }
    },
  },
);

export const apiConfigSchema = api.schema;
export type ApiConfig = z.output<typeof apiConfigSchema>;
export const API_ENV_VARS = api.vars;
export const API_REQUIRED_IN_PRODUCTION = api.requiredInProduction;
