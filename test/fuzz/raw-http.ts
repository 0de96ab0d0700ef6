import { request, type IncomingHttpHeaders } from 'node:http';

export interface RawRequest {
  method: string;
  /** Sent exactly as given: no normalisation of `..`, no re-encoding. */
  path: string;
  headers?: Record<string, string | undefined>;
  body?: Buffer;
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body when the answer says it is JSON; `undefined` otherwise or if it does not parse. */
  json?: unknown;
  /** True when the answer said JSON and the body did not parse. */
  badJson: boolean;
}

/** No answer within this long counts as a hang: a failure of its own, not something to wait out. */
const ANSWER_TIMEOUT_MS = 10_000;
/** A server-sent event stream never ends: keep what arrived by then and hang up. */
const STREAM_READ_MS = 300;

/**
 * One HTTP request with nothing done for the caller: the path goes out as written (`fetch` would
 * resolve `..` and re-encode), headers and bytes as given, and a streaming answer is cut short.
 * Resolves `null` when Node itself refuses to send the request (e.g. a control character in a header
 * value): such a request cannot reach any server through a conforming client.
 */
export function rawRequest(baseUrl: string, req: RawRequest): Promise<RawAnswer | null> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers = Object.fromEntries(
      Object.entries(req.headers ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const framed = Object.keys(headers).some((h) =>
      ['content-length', 'transfer-encoding'].includes(h.toLowerCase()),
    );
    if (req.body !== undefined && !framed) {
      headers['content-length'] = String(req.body.length);
    }
    let outgoing;
    try {
      outgoing = request({
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers,
        // A fresh connection per request: an answer always belongs to the request that was sent.
        agent: false,
        timeout: ANSWER_TIMEOUT_MS,
      });
    } catch (err) {
      if (isClientRefusal(err)) return resolve(null);
      return reject(err instanceof Error ? err : new Error(String(err)));
    }
    outgoing.on('timeout', () => {
      outgoing.destroy(new Error(`no answer to ${req.method} ${req.path} within ${ANSWER_TIMEOUT_MS} ms`));
    });
    outgoing.on('error', reject);
    outgoing.on('response', (res) => {
      const chunks: Buffer[] = [];
      const streaming = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
      const finish = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = String(res.headers['content-type'] ?? '').includes('json');
        let json: unknown;
        let badJson = false;
        if (isJson) {
          try {
            json = JSON.parse(text);
          } catch {
            badJson = true;
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, badJson });
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      if (streaming) {
        setTimeout(() => {
          res.destroy();
          finish();
        }, STREAM_READ_MS);
      } else {
        res.on('end', finish);
      }
    });
    if (req.body !== undefined) outgoing.end(req.body);
    else outgoing.end();
  });
}

function isClientRefusal(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return (
    code === 'ERR_INVALID_CHAR' ||
    code === 'ERR_UNESCAPED_CHARACTERS' ||
    code === 'ERR_INVALID_HTTP_TOKEN' ||
    code === 'ERR_HTTP_INVALID_HEADER_VALUE'
  );
}

/**
 * Percent-encodes every byte of the string's UTF-8 form except the unreserved ones. Unlike
 * `encodeURIComponent` it never throws: a lone surrogate goes out as the replacement character.
 */
export function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
