import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGhlSandbox, type GhlSandbox } from '../../apps/ghl-sandbox/src/ghl-sandbox';
import { sandboxEnvironment } from './sandbox-trust';

const ROOT_KEY = 'ab'.repeat(32);
const FAST = { attempts: 5, delayMs: 10 };

/** The WhatsApp sandbox's `GET /trust` (it cannot run in Jest: Baileys is ESM-only). */
async function fakeWaAdmin(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function trustAnswer(expectedToken: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const ok =
      req.method === 'GET' && req.url === '/trust' && req.headers.authorization === `Bearer ${expectedToken}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(ok ? { rootPublicKey: ROOT_KEY } : { error: { code: 'unauthorized', message: 'no' } }),
    );
  };
}

describe('sandbox-trust (the compose entry point of the api and the worker)', () => {
  const servers: Server[] = [];
  let ghl: GhlSandbox | undefined;

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    await ghl?.close();
    ghl = undefined;
  });

  it('adds nothing when no sandbox is configured (compose against the real services)', async () => {
    expect(await sandboxEnvironment({ WA_SANDBOX_ADMIN_URL: '', GHL_SANDBOX_URL: ' ' }, FAST)).toEqual({});
  });

  it("reads the WhatsApp sandbox's root key with the development admin token, or the one given", async () => {
    const dev = await fakeWaAdmin(trustAnswer('wa-sandbox-dev-token'));
    const own = await fakeWaAdmin(trustAnswer('a-token-of-my-own'));
    servers.push(dev.server, own.server);
    expect(await sandboxEnvironment({ WA_SANDBOX_ADMIN_URL: dev.url }, FAST)).toEqual({
      WA_SANDBOX_ROOT_PUBKEY: ROOT_KEY,
    });
    expect(
      await sandboxEnvironment(
        { WA_SANDBOX_ADMIN_URL: own.url, WA_SANDBOX_ADMIN_TOKEN: 'a-token-of-my-own' },
        FAST,
      ),
    ).toEqual({ WA_SANDBOX_ROOT_PUBKEY: ROOT_KEY });
  });

  it('waits for a sandbox that is still starting', async () => {
    let calls = 0;
    const answer = trustAnswer('wa-sandbox-dev-token');
    const starting = await fakeWaAdmin((req, res) => {
      calls += 1;
      if (calls < 3) {
        res.writeHead(503).end();
        return;
      }
      answer(req, res);
    });
    servers.push(starting.server);
    expect(await sandboxEnvironment({ WA_SANDBOX_ADMIN_URL: starting.url }, FAST)).toEqual({
      WA_SANDBOX_ROOT_PUBKEY: ROOT_KEY,
    });
    expect(calls).toBe(3);
  });

  it('gives up with a message saying how to start the sandboxes or do without them', async () => {
    const gone = await fakeWaAdmin(() => undefined);
    await new Promise((resolve) => gone.server.close(resolve));
    await expect(
      sandboxEnvironment({ WA_SANDBOX_ADMIN_URL: gone.url }, { attempts: 2, delayMs: 10 }),
    ).rejects.toThrow(
      /failed 2 times .*docker compose --profile sandbox up.*WA_SANDBOX_ADMIN_URL= and GHL_SANDBOX_URL=/,
    );
  });

  it("reads the GHL sandbox's webhook keys", async () => {
    ghl = await startGhlSandbox({ port: 0, logLevel: 'silent' });
    const env = await sandboxEnvironment({ GHL_SANDBOX_URL: `${ghl.url}/` }, FAST);
    const keys = await (
      await fetch(`${ghl.url}/admin/keys`, { headers: { authorization: 'Bearer sandbox-admin-token' } })
    ).json();
    expect(env).toEqual({
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: (keys as { ed25519PublicKeyPem: string }).ed25519PublicKeyPem,
      GHL_WEBHOOK_PUBLIC_KEY_RSA: (keys as { rsaPublicKeyPem: string }).rsaPublicKeyPem,
    });
    expect(env.GHL_WEBHOOK_PUBLIC_KEY_ED25519).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });
});
