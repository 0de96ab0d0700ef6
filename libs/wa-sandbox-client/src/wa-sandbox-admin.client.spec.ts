import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WaSandboxAdminClient, WaSandboxAdminError } from './wa-sandbox-admin.client';

interface Seen {
  method?: string;
  url?: string;
  authorization?: string;
  body: string;
}

describe('WaSandboxAdminClient', () => {
  let server: Server;
  let seen: Seen[];
  let answer: { status: number; body: unknown };
  let client: WaSandboxAdminClient;

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', () => {
        seen.push({
          method: request.method,
          url: request.url,
          authorization: request.headers.authorization,
          body,
        });
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new WaSandboxAdminClient({ baseUrl: `http://127.0.0.1:${port}/`, token: 'secret-token' });
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    seen = [];
    answer = { status: 200, body: {} };
  });

  it('sends JSON with the bearer token and returns the parsed answer', async () => {
    answer.body = { id: 'X', delivered: [], queued: [] };
    await expect(client.sendText({ from: '15550000002', to: '15550000001', text: 'hi' })).resolves.toEqual(
      answer.body,
    );
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/messages/text',
        authorization: 'Bearer secret-token',
        body: JSON.stringify({ from: '15550000002', to: '15550000001', text: 'hi' }),
      },
    ]);
  });

  it('puts outbox paging and stats options in the query string', async () => {
    answer.body = { items: [], lastSeq: 7 };
    await client.outbox('15550000001', { after: 7, limit: 10 });
    await client.stats({ detail: true });
    expect(seen.map((s) => s.url)).toEqual([
      '/accounts/15550000001/outbox?after=7&limit=10',
      '/stats?detail=1',
    ]);
  });

  it("turns an error answer into a WaSandboxAdminError with the sandbox's code", async () => {
    answer = { status: 404, body: { error: { code: 'not_found', message: 'no account 1555' } } };
    const error = await client.account('1555').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaSandboxAdminError);
    expect(error).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('follows outbox pages until a short one', async () => {
    const full = Array.from({ length: 1000 }, (_, i) => ({ kind: 'receipt', seq: i + 1 }));
    let call = 0;
    server.removeAllListeners('request');
    server.on('request', (request: IncomingMessage, response) => {
      seen.push({ url: request.url, body: '' });
      const items = call++ === 0 ? full : [{ kind: 'receipt', seq: 1001 }];
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ items, lastSeq: items[items.length - 1].seq }));
    });
    await expect(client.outboxAll('15550000001')).resolves.toHaveLength(1001);
    expect(seen.map((s) => s.url)).toEqual([
      '/accounts/15550000001/outbox?after=0&limit=1000',
      '/accounts/15550000001/outbox?after=1000&limit=1000',
    ]);
  });
});
