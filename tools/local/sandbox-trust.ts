/**
 * Entry point of an app container in the docker-compose demo (`docker compose --profile sandbox up`):
 *
 *   node dist/tools/local/sandbox-trust.js dist/apps/session-worker/src/main.js
 *
 * The sandboxes make their keys when they start, so a container cannot be handed them in advance the way
 * `npm start` hands them to its children. Before loading the app, this reads them from the running
 * sandboxes:
 *
 * - `WA_SANDBOX_ADMIN_URL`: the WhatsApp sandbox's root key (`GET /trust`) becomes
 *   `WA_SANDBOX_ROOT_PUBKEY` and the trust preload is loaded — what
 *   `node -r ./dist/libs/wa-sandbox-client/src/trust-preload.js` does in `npm start`, here in the same
 *   process and before Baileys is first loaded. The preload still refuses NODE_ENV=production.
 * - `GHL_SANDBOX_URL`: the GHL sandbox's webhook keys (`GET /admin/keys`) become
 *   `GHL_WEBHOOK_PUBLIC_KEY_ED25519` / `_RSA`, so the api verifies the sandbox's webhooks as it does GHL's.
 *
 * With neither set (compose against the real WhatsApp and GHL), the app runs unchanged.
 */
import { DEFAULT_ADMIN_TOKEN, GhlSandboxAdminClient } from '@app/ghl-sandbox-client';
import { builtPaths, WaSandboxAdminClient } from '@app/wa-sandbox-client';
import { resolve } from 'node:path';

/** The variables this entry point reads (the apps' own config does not know them). */
export const SANDBOX_TRUST_ENV_VARS = [
  'WA_SANDBOX_ADMIN_URL',
  'WA_SANDBOX_ADMIN_TOKEN',
  'GHL_SANDBOX_URL',
  'GHL_SANDBOX_ADMIN_TOKEN',
] as const;

/** The WhatsApp sandbox's development admin token (apps/wa-sandbox/src/config.ts). */
const WA_DEV_ADMIN_TOKEN = 'wa-sandbox-dev-token';

export interface RetryOptions {
  attempts: number;
  delayMs: number;
}

// Compose starts the apps once the sandboxes are healthy; the retries cover a sandbox restarted by hand.
const DEFAULT_RETRY: RetryOptions = { attempts: 30, delayMs: 1_000 };

async function withRetry<T>(what: string, work: () => Promise<T>, retry: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= retry.attempts) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(
          `${what} failed ${attempt} times (${reason}). Start the sandboxes with ` +
            '`docker compose --profile sandbox up`, or set WA_SANDBOX_ADMIN_URL= and GHL_SANDBOX_URL= (empty) ' +
            'to run against the real WhatsApp and GHL.',
        );
      }
      await new Promise((r) => setTimeout(r, retry.delayMs));
    }
  }
}

/** The variables to add to the app's environment, read from whichever sandboxes are configured. */
export async function sandboxEnvironment(
  env: NodeJS.ProcessEnv,
  retry: RetryOptions = DEFAULT_RETRY,
): Promise<Record<string, string>> {
  const added: Record<string, string> = {};
  const waAdminUrl = env.WA_SANDBOX_ADMIN_URL?.trim();
  if (waAdminUrl) {
    const admin = new WaSandboxAdminClient({
      baseUrl: waAdminUrl,
      token: env.WA_SANDBOX_ADMIN_TOKEN?.trim() || WA_DEV_ADMIN_TOKEN,
      timeoutMs: 5_000,
    });
    const { rootPublicKey } = await withRetry(`GET ${waAdminUrl}/trust`, () => admin.trust(), retry);
    added.WA_SANDBOX_ROOT_PUBKEY = rootPublicKey;
  }
  const ghlUrl = env.GHL_SANDBOX_URL?.trim();
  if (ghlUrl) {
    const admin = new GhlSandboxAdminClient(
      ghlUrl.replace(/\/+$/, ''),
      env.GHL_SANDBOX_ADMIN_TOKEN?.trim() || DEFAULT_ADMIN_TOKEN,
    );
    const keys = await withRetry(`GET ${ghlUrl}/admin/keys`, () => admin.keys(), retry);
    added.GHL_WEBHOOK_PUBLIC_KEY_ED25519 = keys.ed25519PublicKeyPem;
    added.GHL_WEBHOOK_PUBLIC_KEY_RSA = keys.rsaPublicKeyPem;
  }
  return added;
}

async function main(entry: string | undefined): Promise<void> {
  if (!entry) throw new Error('usage: node dist/tools/local/sandbox-trust.js <app main.js>');
  Object.assign(process.env, await sandboxEnvironment(process.env));
  if (process.env.WA_SANDBOX_ROOT_PUBKEY) await import(builtPaths.trustPreload());
  await import(resolve(entry));
}

if (require.main === module) {
  main(process.argv[2]).catch((error: unknown) => {
    process.stderr.write(`sandbox-trust: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
