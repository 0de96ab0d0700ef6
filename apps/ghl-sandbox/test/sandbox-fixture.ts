import {
  GhlSandboxAdminClient,
  GhlSandboxApiClient,
  type LocationDto,
  type TokenPairDto,
} from '@app/ghl-sandbox-client';
import { startGhlSandbox, type GhlSandbox } from '../src/ghl-sandbox';
import type { SandboxConfigInput } from '../src/config/sandbox-config.schema';

export interface TestSandbox {
  sandbox: GhlSandbox;
  admin: GhlSandboxAdminClient;
  api: GhlSandboxApiClient;
  close(): Promise<void>;
}

/** An in-process sandbox on a free port, quiet, with webhook retries compressed to milliseconds. */
export async function startTestSandbox(overrides: SandboxConfigInput = {}): Promise<TestSandbox> {
  const sandbox = await startGhlSandbox({
    port: 0,
    logLevel: 'silent',
    ...overrides,
    webhook: { retryDelayMs: 10, timeoutMs: 2_000, ...overrides.webhook },
  });
  return {
    sandbox,
    admin: new GhlSandboxAdminClient(sandbox.url, sandbox.config.adminToken),
    api: new GhlSandboxApiClient(sandbox.url),
    close: () => sandbox.close(),
  };
}

/** A fresh location (in its own company) and a Location token pair for it. */
export async function locationWithToken(
  admin: GhlSandboxAdminClient,
  input: { name?: string; allowDuplicateContact?: boolean } = {},
): Promise<{ location: LocationDto; tokens: TokenPairDto; token: string }> {
  const location = await admin.createLocation(input);
  const tokens = await admin.issueTokens({ locationId: location.id });
  return { location, tokens, token: tokens.access_token };
}

export const CLIENT = { clientId: 'sandbox-client-id', clientSecret: 'sandbox-client-secret' } as const;
export const REDIRECT_URI = 'http://127.0.0.1:3000/oauth/callback';
