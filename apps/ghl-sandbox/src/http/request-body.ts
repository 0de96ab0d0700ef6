import type { IncomingMessage } from 'node:http';
import { GhlHttpError } from './ghl-http.error';

/** Large enough for attachments in tests; GHL's own upload limit is not documented. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;

export interface UploadedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface ParsedBody {
  /** Media type without parameters (`application/json`), or null without a body. */
  contentType: string | null;
  raw: Buffer;
  /** JSON value, form fields, multipart text fields; null when empty. */
  value: unknown;
  files: UploadedFile[];
}

export async function readRawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      throw new GhlHttpError(413, {
        statusCode: 413,
        message: 'request entity too large',
        error: 'Payload Too Large',
      });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function mediaTypeOf(header: string | undefined): string | null {
  if (!header) return null;
  return header.split(';')[0].trim().toLowerCase() || null;
}

/** Form fields; a repeated key or one ending in `[]` becomes an array, as body-parser's extended mode does. */
export function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) addField(out, rawKey, value);
  return out;
}

function addField(out: Record<string, string | string[]>, rawKey: string, value: string): void {
  const isArray = rawKey.endsWith('[]');
  const key = isArray ? rawKey.slice(0, -2) : rawKey;
  const existing = out[key];
  if (existing === undefined) out[key] = isArray ? [value] : value;
  else out[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
}

/** A minimal multipart/form-data reader: text fields and files, no nested parts. */
export function parseMultipart(
  raw: Buffer,
  contentTypeHeader: string,
): { fields: Record<string, string | string[]>; files: UploadedFile[] } {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentTypeHeader)?.[1];
  if (!boundary) throw GhlHttpError.badRequest('Multipart: Boundary not found');
  const delimiter = Buffer.from(`--${boundary}`);
  const fields: Record<string, string | string[]> = {};
  const files: UploadedFile[] = [];
  let start = raw.indexOf(delimiter);
  while (start !== -1) {
    const partStart = start + delimiter.length;
    if (raw.subarray(partStart, partStart + 2).toString() === '--') break;
    const next = raw.indexOf(delimiter, partStart);
    if (next === -1) break;
    // Each part: CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = raw.subarray(partStart + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const content = part.subarray(headerEnd + 4);
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
      const type = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
      if (name !== undefined) {
        if (filename !== undefined)
          files.push({ field: name, filename, contentType: type, data: Buffer.from(content) });
        else addField(fields, name, content.toString('utf8'));
      }
    }
    start = next;
  }
  return { fields, files };
}

export function parseBody(raw: Buffer, contentTypeHeader: string | undefined): ParsedBody {
  const contentType = mediaTypeOf(contentTypeHeader);
  if (raw.length === 0) return { contentType, raw, value: null, files: [] };
  switch (contentType ?? '') {
    case 'application/json': {
      try {
        return { contentType, raw, value: JSON.parse(raw.toString('utf8')) as unknown, files: [] };
      } catch (err) {
        // body-parser's answer inside NestJS.
        throw new GhlHttpError(400, {
          statusCode: 400,
          message: err instanceof Error ? err.message : 'Unexpected token in JSON',
          error: 'Bad Request',
        });
      }
    }
    case 'application/x-www-form-urlencoded':
      return { contentType, raw, value: parseForm(raw.toString('utf8')), files: [] };
    case 'multipart/form-data': {
      const { fields, files } = parseMultipart(raw, contentTypeHeader ?? '');
      return { contentType, raw, value: fields, files };
    }
    default:
      return { contentType, raw, value: raw.toString('utf8'), files: [] };
  }
}
