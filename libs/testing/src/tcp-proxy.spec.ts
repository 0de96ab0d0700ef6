import { createServer, connect, type Server, type Socket } from 'node:net';
import { eventually } from './eventually';
import { TcpProxy } from './tcp-proxy';

/** An echo server on a free loopback port. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined); // the proxy resets it in some tests
    socket.pipe(socket);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return { server, port };
}

interface Client {
  socket: Socket;
  received: () => string;
  closed: Promise<{ error?: NodeJS.ErrnoException }>;
}

async function client(port: number): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1' });
  let data = '';
  let error: NodeJS.ErrnoException | undefined;
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('error', (err) => (error = err));
  const closed = new Promise<{ error?: NodeJS.ErrnoException }>((resolve) =>
    socket.once('close', () => resolve({ error })),
  );
  // A refused connection may be reset before or after it counts as connected.
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
  return { socket, received: () => data, closed };
}

describe('TcpProxy', () => {
  let echo: { server: Server; port: number };
  let proxy: TcpProxy;

  beforeEach(async () => {
    echo = await echoServer();
    proxy = await TcpProxy.start({ name: 'echo', target: { host: '127.0.0.1', port: echo.port } });
  });

  afterEach(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.server.close(resolve));
  });

  it('forwards bytes both ways, in order', async () => {
    const c = await client(proxy.port);
    for (let i = 0; i < 50; i++) c.socket.write(`${i},`);
    const expected = Array.from({ length: 50 }, (_, i) => `${i},`).join('');
    await eventually(() => expect(c.received()).toBe(expected));
    expect(proxy.stats()).toMatchObject({ accepted: 1, open: 1, resets: 0 });
    c.socket.end();
    await c.closed;
    await eventually(() => expect(proxy.stats().open).toBe(0));
  });

  it('adds latency without reordering chunks, even with jitter', async () => {
    proxy.setLatency(60, 40);
    const c = await client(proxy.port);
    const started = Date.now();
    for (let i = 0; i < 20; i++) c.socket.write(`${i};`);
    const expected = Array.from({ length: 20 }, (_, i) => `${i};`).join('');
    await eventually(() => expect(c.received()).toBe(expected), { timeoutMs: 3_000, intervalMs: 5 });
    // Out and back: at least twice the smallest delay (60 - 40 ms).
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('holds bytes during a partition and delivers them once healed', async () => {
    const c = await client(proxy.port);
    proxy.partition();
    c.socket.write('held');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(c.received()).toBe('');
    proxy.heal();
    await eventually(() => expect(c.received()).toBe('held'));
  });

  it('resets every open connection on demand', async () => {
    const a = await client(proxy.port);
    const b = await client(proxy.port);
    await eventually(() => expect(proxy.stats().open).toBe(2));
    expect(proxy.resetAll()).toBe(2);
    for (const c of [a, b]) expect((await c.closed).error?.code).toBe('ECONNRESET');
    expect(proxy.stats()).toMatchObject({ open: 0, resets: 2 });
  });

  it('refuses new connections while told to, and accepts again after', async () => {
    proxy.refuse(true);
    const refused = await client(proxy.port);
    expect((await refused.closed).error?.code).toBe('ECONNRESET');
    proxy.clearFaults();
    const accepted = await client(proxy.port);
    accepted.socket.write('back');
    await eventually(() => expect(accepted.received()).toBe('back'));
    accepted.socket.destroy();
  });

  it('resets the client when the upstream is down', async () => {
    const down = await TcpProxy.start({ name: 'down', target: { host: '127.0.0.1', port: 1 } });
    try {
      const c = await client(down.port);
      expect((await c.closed).error?.code).toBe('ECONNRESET');
    } finally {
      await down.close();
    }
  });
});
