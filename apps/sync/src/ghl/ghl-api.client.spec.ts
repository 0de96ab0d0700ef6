import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GhlApiClient } from './ghl-api.client';
import {
  GhlPermanentError,
  GhlRateLimitedError,
  GhlTokenInvalidError,
  GhlTransientError,
} from './ghl.errors';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A scripted HTTP server: each request gets the next answer; every request is recorded. */
async function scriptedServer(answers: Array<(res: ServerResponse) => void>) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const answer = answers.shift();
      if (answer) answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  (res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

const auth = { accessToken: 'tok-1', resourceKey: 'location:loc1' };

describe('GhlApiClient', () => {
  let server: Awaited<ReturnType<typeof scriptedServer>>;
  let client: GhlApiClient;
  const observed: unknown[] = [];

  afterEach(async () => {
    client?.close();
    await server?.close();
    observed.length = 0;
  });

  async function start(answers: Array<(res: ServerResponse) => void>, timeoutMs = 2_000) {
    server = await scriptedServer(answers);
    client = new GhlApiClient({
      baseUrl: server.url,
      timeoutMs,
      onRateLimit: (key, headers) => observed.push({ key, headers }),
    });
  }

  it('sends the Version of each API family, the bearer token, and none on the token endpoint', async () => {
    await start([
      json(200, { contact: null }),
      json(200, { conversations: [] }),
      json(200, {
        access_token: 'a',
        refresh_token: 'r',
        expires_in: 86399,
        userType: 'Location',
        locationId: 'loc1',
      }),
    ]);
    await client.findContactByPhone(auth, 'loc1', '+15550000001');
    await client.findConversation(auth, 'loc1', 'c1');
    await client.refreshToken({ id: 'cid', secret: 'sec' }, 'r0', 'Location');
    expect(server.seen.map((s) => [s.url, s.headers.version, s.headers.authorization])).toEqual([
      ['/contacts/search/duplicate?locationId=loc1&number=%2B15550000001', '2021-07-28', 'Bearer tok-1'],
      ['/conversations/search?locationId=loc1&contactId=c1', '2021-04-15', 'Bearer tok-1'],
      ['/oauth/token', undefined, undefined],
    ]);
    expect(server.seen[2].headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(server.seen[2].body).get('grant_type')).toBe('refresh_token');
  });

  it('maps 401 to token invalid, except on the token endpoint (bad client credentials)', async () => {
    await start([
      json(401, { statusCode: 401, message: 'Invalid JWT' }),
      json(401, { message: 'Invalid client' }),
    ]);
    await expect(client.getContact(auth, 'c1')).rejects.toBeInstanceOf(GhlTokenInvalidError);
    await expect(client.exchangeCode({ id: 'x', secret: 'y' }, 'code')).rejects.toMatchObject({
      kind: 'permanent',
      status: 401,
    });
  });

  it('maps 429 to rate limited, waiting Retry-After or else the interval, and reports the headers', async () => {
    const limits = {
      'x-ratelimit-max': '100',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-interval-milliseconds': '10000',
    };
    await start([
      json(429, { statusCode: 429, message: 'Too Many Requests' }, { ...limits, 'retry-after': '2' }),
      json(429, { statusCode: 429, message: 'Too Many Requests' }, limits),
    ]);
    await expect(client.getContact(auth, 'c1')).rejects.toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 2_000,
    });
    const second = await client.getContact(auth, 'c1').catch((err: unknown) => err);
    expect(second).toBeInstanceOf(GhlRateLimitedError);
    expect((second as GhlRateLimitedError).retryAfterMs).toBe(10_000);
    expect(observed).toHaveLength(2);
    expect(observed[0]).toMatchObject({ key: 'location:loc1', headers: { max: 100, remaining: 0 } });
  });

  it('maps 5xx and no answer to transient (ambiguous), other 4xx to permanent with status and body', async () => {
    await start(
      [
        json(502, { message: 'bad gateway' }),
        json(422, {
          statusCode: 422,
          message: ['phone must be a valid phone number'],
          error: 'Unprocessable Entity',
        }),
        () => undefined, // never answers
      ],
      300,
    );
    const fiveHundred = await client.getContact(auth, 'c1').catch((err: unknown) => err);
    expect(fiveHundred).toBeInstanceOf(GhlTransientError);
    expect(fiveHundred).toMatchObject({ status: 502, ambiguous: true });
    const invalid = await client
      .upsertContact(auth, { locationId: 'loc1', phone: 'nope' })
      .catch((err: unknown) => err);
    expect(invalid).toBeInstanceOf(GhlPermanentError);
    expect(invalid).toMatchObject({ status: 422, ghlMessage: 'phone must be a valid phone number' });
    await expect(client.getContact(auth, 'c1')).rejects.toMatchObject({
      kind: 'transient',
      status: null,
      ambiguous: true,
    });
  });

  it('reads the nested message list the live API returns, and the flat one the spec shows', async () => {
    const page = { lastMessageId: 'm2', nextPage: false, messages: [{ id: 'm1' }, { id: 'm2' }] };
    await start([json(200, { messages: page }), json(200, page)]);
    for (let i = 0; i < 2; i++) {
      const list = await client.listMessages(auth, 'conv1', { limit: 100 });
      expect(list.messages.map((m) => m.id)).toEqual(['m1', 'm2']);
      expect(list.lastMessageId).toBe('m2');
    }
  });

  it('refuses a success it cannot read as permanent (a write must not be repeated blindly)', async () => {
    await start([json(200, { success: true })]);
    await expect(
      client.addInboundMessage(auth, {
        type: 'SMS',
        contactId: 'c',
        conversationId: 'v',
        altId: 'a',
        direction: 'inbound',
        date: '2026-11-21T10:00:00.000Z',
      }),
    ).rejects.toBeInstanceOf(GhlPermanentError);
  });
});
