import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../common/logger';
import { httpStatusFor, SandboxError } from '../common/sandbox-error';
import type { AdminRoute } from './admin-routes';

/** Default body limit; snapshot restores get their own (a thousand devices is tens of megabytes). */
const DEFAULT_BODY_LIMIT = 1024 * 1024;

function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

function readBody(request: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new SandboxError('bad_request', `body larger than ${limit} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!size) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new SandboxError('bad_request', 'body is not JSON'));
      }
    });
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** JSON over HTTP with a bearer token; the routes are a table (admin-routes.ts). */
export class AdminServer {
  private server?: Server;

  constructor(
    private readonly routes: readonly AdminRoute[],
    private readonly token: string,
    private readonly logger: Logger,
  ) {}

  listen(host: string, port: number): Promise<number> {
    const server = createServer((request, response) => void this.handle(request, response));
    // Longer than undici's keep-alive, so a client never reuses a socket the server is closing
    // (seen as "fetch failed" when load runs stall the clients' event loops).
    server.keepAliveTimeout = 65_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    try {
      const match = this.match(request.method ?? 'GET', url.pathname);
      if (!match) throw new SandboxError('not_found', `no route ${request.method} ${url.pathname}`);
      const { route, params } = match;
      if (route.public !== true && !tokenMatches(request.headers.authorization, this.token)) {
        throw new SandboxError('unauthorized', 'missing or wrong bearer token');
      }
      const body = await readBody(request, route.bodyLimit ?? DEFAULT_BODY_LIMIT);
      const result = await route.handle({ params, query: url.searchParams, body });
      reply(response, 200, result);
    } catch (error) {
      if (error instanceof SandboxError) {
        reply(response, httpStatusFor(error.code), { error: { code: error.code, message: error.message } });
      } else {
        this.logger.error({ err: (error as Error).stack, path: url.pathname }, 'admin request failed');
        reply(response, 500, { error: { code: 'internal', message: (error as Error).message } });
      }
    }
  }

  private match(
    method: string,
    path: string,
  ): { route: AdminRoute; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.path.exec(path);
      if (m) return { route, params: m.groups ?? {} };
    }
    return undefined;
  }
}
