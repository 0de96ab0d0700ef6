import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedWebhook {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The exact bytes received, for signature checks. */
  rawBody: string;
  json: unknown;
  receivedAt: number;
}

export type WebhookReply = number | { status: number; body?: unknown };

export interface WebhookRecorderOptions {
  /** Answer for the n-th request (0-based); 200 by default. */
  reply?: (request: RecordedWebhook, index: number) => WebhookReply;
  host?: string;
}

export interface WebhookRecorder {
  readonly url: string;
  readonly requests: RecordedWebhook[];
  /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<RecordedWebhook[]>;
  close(): Promise<void>;
}

/**
 * A local HTTP receiver standing in for the product's webhook endpoints (delivery URL, install
 * webhook), recording what the sandbox sends.
 */
export async function startWebhookRecorder(options: WebhookRecorderOptions = {}): Promise<WebhookRecorder> {
  const requests: RecordedWebhook[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = rawBody ? JSON.parse(rawBody) : null;
      } catch {
        json = null;
      }
      const recorded: RecordedWebhook = {
        method: req.method ?? 'POST',
        path: req.url ?? '/',
        headers: req.headers,
        rawBody,
        json,
        receivedAt: Date.now(),
      };
      const index = requests.length;
      requests.push(recorded);
      const reply = options.reply?.(recorded, index) ?? 200;
      const { status, body } = typeof reply === 'number' ? { status: reply, body: undefined } : reply;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { ok: status < 300 }));
      for (const waiter of [...waiters]) {
        if (requests.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    async waitFor(count, timeoutMs = 5_000) {
      if (requests.length < count) {
        await new Promise<void>((resolve, reject) => {
          const waiter = { count, resolve: () => (clearTimeout(timer), resolve()) };
          const timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1);
            reject(
              new Error(`webhook recorder: ${requests.length} of ${count} requests after ${timeoutMs} ms`),
            );
          }, timeoutMs);
          waiters.push(waiter);
        });
      }
      return requests.slice(0, count);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
