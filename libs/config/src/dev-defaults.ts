/**
 * Development-only values for secrets, so `npm start` and the test suites need no setup. They are
 * public by being in this repository, which is why `defineEnvSchema` refuses every one of them when
 * NODE_ENV=production. The GHL sandbox uses the same values as its defaults, so both sides of a local run agree.
 */
export const DEV_SECRETS = {
  /** 32 ASCII bytes, base64: recognisable in a hex dump as a development key. */
  ENCRYPTION_KEY: Buffer.from('dev-only-key-do-not-use-in-prod!', 'utf8').toString('base64'),
  GHL_APP_SHARED_SECRET: 'sandbox-shared-secret',
  GHL_CLIENT_ID: 'sandbox-client-id',
  GHL_CLIENT_SECRET: 'sandbox-client-secret',
} as const;
