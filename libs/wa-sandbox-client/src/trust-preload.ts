/**
 * Test-only preload for a process that runs Baileys against the WhatsApp sandbox:
 *
 *   WA_SANDBOX_ROOT_PUBKEY=<hex> node -r ./dist/libs/wa-sandbox-client/src/trust-preload.js app.js
 *
 * Baileys verifies the server's Noise certificate chain against WhatsApp's root key
 * (`WA_CERT_DETAILS.PUBLIC_KEY`, shared and mutable); this swaps in the sandbox's root key, like
 * installing a test CA. Nothing else in Baileys is touched. Without the variable it does nothing; with
 * NODE_ENV=production it refuses to load at all, so it can never weaken a production process.
 */

const ROOT_KEY_VARIABLE = 'WA_SANDBOX_ROOT_PUBKEY';

if (process.env.NODE_ENV === 'production') {
  throw new Error('wa-sandbox trust preload refuses to load with NODE_ENV=production');
}

const rootKeyHex = process.env[ROOT_KEY_VARIABLE];
if (rootKeyHex !== undefined && rootKeyHex !== '') {
  if (!/^[0-9a-fA-F]{64}$/.test(rootKeyHex)) {
    throw new Error(`${ROOT_KEY_VARIABLE} must be the sandbox root public key: 64 hex characters`);
  }
  // Loaded only when enabled: a process without the variable never pays for Baileys here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const baileys = require('@whiskeysockets/baileys') as typeof import('@whiskeysockets/baileys');
  baileys.WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootKeyHex, 'hex');
  process.stderr.write(
    `wa-sandbox trust anchor active: Baileys trusts root key ${rootKeyHex.slice(0, 16)}…, not WhatsApp's\n`,
  );
}

export {};
