import type { z } from 'zod';
import { defineEnvSchema } from '../define-env-schema';
import { DEV_SECRETS } from '../dev-defaults';
import { httpBaseUrl, nonEmpty, pemPublicKey } from '../env-parsers';
import { envVar, optionalEnvVar, productionRequiredVar, secretVar } from '../env-var';
import { httpPortVar } from '../shared-env.schema';

/** Long enough that guessing is out of reach; a bootstrap admin key opens every tenant. */
const MIN_PRODUCTION_ADMIN_KEY_LENGTH = 32;

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
    /** Verifies `x-ghl-signature`. Optional in development, where unsigned sandbox webhooks are allowed. */
    GHL_WEBHOOK_PUBLIC_KEY_ED25519: productionRequiredVar(pemPublicKey('ed25519')),
    /** Verifies the legacy `x-wh-signature`. */
    GHL_WEBHOOK_PUBLIC_KEY_RSA: productionRequiredVar(pemPublicKey('rsa')),
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
