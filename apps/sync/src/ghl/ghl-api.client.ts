import type { OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { z } from 'zod';
import {
  bodyText,
  GhlPermanentError,
  GhlRateLimitedError,
  GhlTokenInvalidError,
  GhlTransientError,
} from './ghl.errors';
import {
  contactEnvelopeSchema,
  createConversationSchema,
  duplicateContactSchema,
  inboundMessageResponseSchema,
  installedLocationsSchema,
  locationTokenResponseSchema,
  messageListSchema,
  tokenResponseSchema,
  uploadFilesSchema,
  upsertContactSchema,
  conversationSearchSchema,
  type GhlContact,
  type GhlMessage,
  type LocationTokenResponse,
  type TokenResponse,
} from './ghl-api.schemas';
import { ghlMetrics } from './ghl.metrics';
import { parseRateLimitHeaders, retryAfterMs, type RateLimitHeaders } from './rate-limit-headers';

/** `Version` per API family (GHL-CONTRACT §1); `POST /oauth/token` declares none. */
export const GHL_API_VERSIONS = {
  contacts: '2021-07-28',
  oauth: '2021-07-28',
  conversations: '2021-04-15',
} as const;

/** Who a call is made as, and which rate-limit bucket its answer's headers describe. */
export interface GhlAuth {
  accessToken: string;
  /** The limiter's key for the token's resource, e.g. `location:<id>`. */
  resourceKey: string;
}

export interface GhlApiClientOptions {
  baseUrl: string;
  timeoutMs: number;
  /** Sockets per GHL host; concurrency above it queues in the agent. */
  maxSockets?: number;
  /** Called with every answer's rate-limit headers (the limiter corrects itself from them). */
  onRateLimit?: (resourceKey: string, headers: RateLimitHeaders) => void;
}

export type GhlMessageStatus = 'delivered' | 'read' | 'failed' | 'pending';

export interface InboundMessageInput {
  /** `SMS` for an SMS provider (GHL-CONTRACT §5). */
  type: 'SMS' | 'Custom';
  contactId: string;
  conversationId: string;
  conversationProviderId?: string;
  message?: string;
  attachments?: string[];
  altId: string;
  direction: 'inbound' | 'outbound';
  /** ISO time of the original message. */
  date: string;
}

/** A file to attach to a conversation message. */
export interface AttachmentFile {
  /** With the extension GHL decides the type by (`photo.jpg`). */
  fileName: string;
  mimetype: string;
  bytes: Uint8Array;
}

interface RequestSpec {
  endpoint: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  auth?: GhlAuth;
  version?: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  form?: Record<string, string | undefined>;
  multipart?: { fields: Record<string, string>; file: AttachmentFile & { field: string } };
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

// Without an answer to a 429 that names no interval, GHL's documented window (100 / 10 s).
const DEFAULT_RATE_LIMIT_INTERVAL_MS = 10_000;
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * The one adapter for GHL's HTTP API: base URL, `Version` header per API family, bearer token, and
 * typed errors (401 → token invalid, 429 → rate limited, 5xx/network → transient, other 4xx →
 * permanent with status and body). Every call is counted and timed by endpoint.
 *
 * Plain `node:http` with keep-alive sockets: this path carries every event the bridge syncs.
 */
export class GhlApiClient implements OnApplicationShutdown {
  private readonly base: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly send: typeof httpRequest;

  constructor(private readonly options: GhlApiClientOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    const https = this.base.protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 256,
      scheduling: 'lifo' as const,
    };
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.send = https ? httpsRequest : httpRequest;
  }

  close(): void {
    this.agent.destroy();
  }

  onApplicationShutdown(): void {
    this.close();
  }

  // ---- OAuth (GHL-CONTRACT §2) -------------------------------------------------------------------

  async exchangeCode(client: { id: string; secret: string }, code: string): Promise<TokenResponse> {
    return this.parse(
      'oauth.token',
      tokenResponseSchema,
      await this.call({
        endpoint: 'oauth.token',
        method: 'POST',
        path: '/oauth/token',
        form: { client_id: client.id, client_secret: client.secret, grant_type: 'authorization_code', code },
      }),
    );
  }

  async refreshToken(
    client: { id: string; secret: string },
    refreshToken: string,
    userType: 'Location' | 'Company',
  ): Promise<TokenResponse> {
    return this.parse(
      'oauth.token',
      tokenResponseSchema,
      await this.call({
        endpoint: 'oauth.token',
        method: 'POST',
        path: '/oauth/token',
        form: {
          client_id: client.id,
          client_secret: client.secret,
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          user_type: userType,
        },
      }),
    );
  }

  async locationToken(auth: GhlAuth, companyId: string, locationId: string): Promise<LocationTokenResponse> {
    return this.parse(
      'oauth.location_token',
      locationTokenResponseSchema,
      await this.call({
        endpoint: 'oauth.location_token',
        method: 'POST',
        path: '/oauth/locationToken',
        auth,
        version: GHL_API_VERSIONS.oauth,
        form: { companyId, locationId },
      }),
    );
  }

  /** One page of the company's locations that have the app installed. */
  async installedLocations(
    auth: GhlAuth,
    query: { companyId: string; appId: string; skip: number; limit: number },
  ): Promise<{ locationIds: string[]; count: number | null }> {
    const body = this.parse(
      'oauth.installed_locations',
      installedLocationsSchema,
      await this.call({
        endpoint: 'oauth.installed_locations',
        method: 'GET',
        path: '/oauth/installedLocations',
        auth,
        version: GHL_API_VERSIONS.oauth,
        query: {
          companyId: query.companyId,
          appId: query.appId,
          isInstalled: 'true',
          skip: String(query.skip),
          limit: String(query.limit),
        },
      }),
    );
    return {
      locationIds: body.locations.filter((l) => l.isInstalled !== false).map((l) => l._id),
      count: body.count ?? null,
    };
  }

  // ---- contacts (§3) -----------------------------------------------------------------------------

  /** The contact with this E.164 number (`number`, not `phone`: §3.2), or null. */
  async findContactByPhone(auth: GhlAuth, locationId: string, phone: string): Promise<GhlContact | null> {
    const body = this.parse(
      'contacts.search_duplicate',
      duplicateContactSchema,
      await this.call({
        endpoint: 'contacts.search_duplicate',
        method: 'GET',
        path: '/contacts/search/duplicate',
        auth,
        version: GHL_API_VERSIONS.contacts,
        query: { locationId, number: phone },
      }),
    );
    return body.contact ?? null;
  }

  async upsertContact(
    auth: GhlAuth,
    input: { locationId: string; phone: string; name?: string },
  ): Promise<{ contact: GhlContact; created: boolean }> {
    const body = this.parse(
      'contacts.upsert',
      upsertContactSchema,
      await this.call({
        endpoint: 'contacts.upsert',
        method: 'POST',
        path: '/contacts/upsert',
        auth,
        version: GHL_API_VERSIONS.contacts,
        json: input,
      }),
    );
    return { contact: body.contact, created: body.new ?? false };
  }

  async updateContactName(auth: GhlAuth, contactId: string, name: string): Promise<GhlContact> {
    const body = this.parse(
      'contacts.update',
      contactEnvelopeSchema,
      await this.call({
        endpoint: 'contacts.update',
        method: 'PUT',
        path: `/contacts/${encodeURIComponent(contactId)}`,
        auth,
        version: GHL_API_VERSIONS.contacts,
        json: { name },
      }),
    );
    return body.contact;
  }

  async getContact(auth: GhlAuth, contactId: string): Promise<GhlContact> {
    return this.parse(
      'contacts.get',
      contactEnvelopeSchema,
      await this.call({
        endpoint: 'contacts.get',
        method: 'GET',
        path: `/contacts/${encodeURIComponent(contactId)}`,
        auth,
        version: GHL_API_VERSIONS.contacts,
      }),
    ).contact;
  }

  // ---- conversations (§4) ------------------------------------------------------------------------

  async findConversation(auth: GhlAuth, locationId: string, contactId: string): Promise<string | null> {
    const body = this.parse(
      'conversations.search',
      conversationSearchSchema,
      await this.call({
        endpoint: 'conversations.search',
        method: 'GET',
        path: '/conversations/search',
        auth,
        version: GHL_API_VERSIONS.conversations,
        query: { locationId, contactId },
      }),
    );
    return body.conversations.find((c) => c.contactId === undefined || c.contactId === contactId)?.id ?? null;
  }

  async createConversation(auth: GhlAuth, locationId: string, contactId: string): Promise<string> {
    return this.parse(
      'conversations.create',
      createConversationSchema,
      await this.call({
        endpoint: 'conversations.create',
        method: 'POST',
        path: '/conversations/',
        auth,
        version: GHL_API_VERSIONS.conversations,
        json: { locationId, contactId },
      }),
    ).conversation.id;
  }

  /** Adds a message to a conversation without sending it anywhere (§4.2): no provider webhook fires. */
  async addInboundMessage(
    auth: GhlAuth,
    input: InboundMessageInput,
  ): Promise<{ conversationId: string; messageId: string }> {
    return this.parse(
      'conversations.add_inbound',
      inboundMessageResponseSchema,
      await this.call({
        endpoint: 'conversations.add_inbound',
        method: 'POST',
        path: '/conversations/messages/inbound',
        auth,
        version: GHL_API_VERSIONS.conversations,
        json: input,
      }),
    );
  }

  /**
   * Uploads a file for a conversation (multipart, key `fileAttachment`, §4.7) and returns its URL, to
   * be passed in a message's `attachments`. GHL refuses types outside its list with 415 and files too
   * large with 413 (permanent errors).
   */
  async uploadAttachment(
    auth: GhlAuth,
    target: { locationId: string; contactId: string; conversationId: string },
    file: AttachmentFile,
  ): Promise<string> {
    const body = this.parse(
      'conversations.upload',
      uploadFilesSchema,
      await this.call({
        endpoint: 'conversations.upload',
        method: 'POST',
        path: '/conversations/messages/upload',
        auth,
        version: GHL_API_VERSIONS.conversations,
        multipart: {
          fields: {
            conversationId: target.conversationId,
            contactId: target.contactId,
            locationId: target.locationId,
          },
          file: { ...file, field: 'fileAttachment' },
        },
      }),
    );
    const url = body.uploadedFiles[file.fileName] ?? Object.values(body.uploadedFiles)[0];
    if (!url) {
      throw new GhlPermanentError('conversations.upload', 200, 'the answer names no uploaded file');
    }
    return url;
  }

  /** One page of a conversation's messages, newest first. */
  async listMessages(
    auth: GhlAuth,
    conversationId: string,
    page: { lastMessageId?: string; limit: number },
  ): Promise<{ messages: GhlMessage[]; nextPage: boolean; lastMessageId: string | null }> {
    const body = this.parse(
      'conversations.list_messages',
      messageListSchema,
      await this.call({
        endpoint: 'conversations.list_messages',
        method: 'GET',
        path: `/conversations/${encodeURIComponent(conversationId)}/messages`,
        auth,
        version: GHL_API_VERSIONS.conversations,
        query: { lastMessageId: page.lastMessageId, limit: String(page.limit) },
      }),
    );
    const list = body;
    return {
      messages: list.messages,
      nextPage: list.nextPage ?? false,
      lastMessageId: list.lastMessageId ?? null,
    };
  }

  async updateMessageStatus(
    auth: GhlAuth,
    messageId: string,
    status: GhlMessageStatus,
    error?: { code: string; type: string; message: string },
  ): Promise<void> {
    await this.call({
      endpoint: 'conversations.update_status',
      method: 'PUT',
      path: `/conversations/messages/${encodeURIComponent(messageId)}/status`,
      auth,
      version: GHL_API_VERSIONS.conversations,
      json: error ? { status, error } : { status },
    });
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private parse<T>(endpoint: string, schema: z.ZodType<T>, answer: RawAnswer): T {
    const result = schema.safeParse(answer.body);
    if (result.success) return result.data;
    // A success we cannot read: the write may have happened, so this must not be retried blindly.
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new GhlPermanentError(
      endpoint,
      answer.status,
      `unexpected answer (${issues}): ${bodyText(answer.body)}`,
    );
  }

  /** Sends one request and maps every non-2xx answer (and every failure to get one) to a typed error. */
  private async call(spec: RequestSpec): Promise<RawAnswer> {
    const started = performance.now();
    let answer: RawAnswer;
    try {
      answer = await this.exchange(spec);
    } catch (err) {
      ghlMetrics.requests.inc({ endpoint: spec.endpoint, status: '0' });
      ghlMetrics.duration.observe({ endpoint: spec.endpoint }, (performance.now() - started) / 1000);
      throw new GhlTransientError(
        spec.endpoint,
        `GHL ${spec.endpoint} got no answer: ${err instanceof Error ? err.message : String(err)}`,
        null,
        true,
        { cause: err },
      );
    }
    ghlMetrics.requests.inc({ endpoint: spec.endpoint, status: String(answer.status) });
    ghlMetrics.duration.observe({ endpoint: spec.endpoint }, (performance.now() - started) / 1000);

    const rateLimit = parseRateLimitHeaders(answer.headers);
    if (rateLimit && spec.auth) this.options.onRateLimit?.(spec.auth.resourceKey, rateLimit);

    const { status } = answer;
    if (status >= 200 && status < 300) return answer;
    const text = bodyText(answer.body);
    if (status === 401) {
      // On the token endpoint a 401 means bad client credentials: a configuration error, not a token.
      if (spec.endpoint === 'oauth.token') throw new GhlPermanentError(spec.endpoint, status, text);
      throw new GhlTokenInvalidError(spec.endpoint, text);
    }
    if (status === 429) {
      throw new GhlRateLimitedError(
        spec.endpoint,
        retryAfterMs(answer.headers, rateLimit, DEFAULT_RATE_LIMIT_INTERVAL_MS),
        rateLimit,
      );
    }
    if (status >= 500) {
      throw new GhlTransientError(
        spec.endpoint,
        `GHL ${spec.endpoint} answered ${status}: ${text}`,
        status,
        true,
      );
    }
    if (status === 408) {
      throw new GhlTransientError(spec.endpoint, `GHL ${spec.endpoint} answered 408: ${text}`, status, true);
    }
    throw new GhlPermanentError(spec.endpoint, status, text);
  }

  private exchange(spec: RequestSpec): Promise<RawAnswer> {
    const url = new URL(spec.path.replace(/^\//, ''), this.base);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (spec.auth) headers.authorization = `Bearer ${spec.auth.accessToken}`;
    if (spec.version) headers.version = spec.version;
    let payload: Buffer | undefined;
    if (spec.json !== undefined) {
      payload = Buffer.from(JSON.stringify(spec.json));
      headers['content-type'] = 'application/json';
    } else if (spec.form) {
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(spec.form)) if (value !== undefined) form.set(key, value);
      payload = Buffer.from(form.toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (spec.multipart) {
      const boundary = `----ghl-sync-${randomBytes(12).toString('hex')}`;
      payload = multipartBody(boundary, spec.multipart.fields, spec.multipart.file);
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
    }
    if (payload) headers['content-length'] = String(payload.length);

    return new Promise<RawAnswer>((resolve, reject) => {
      const req = this.send(url, { method: spec.method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if (text !== '') {
            try {
              body = JSON.parse(text);
            } catch {
              // not JSON: keep the text for the error message
            }
          } else {
            body = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      });
      req.setTimeout(this.options.timeoutMs, () =>
        req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** A multipart/form-data body (RFC 7578): the text fields, then the file. */
function multipartBody(
  boundary: string,
  fields: Record<string, string>,
  file: AttachmentFile & { field: string },
): Buffer {
  const quoted = (value: string) => value.replace(/["\\\r\n]/g, (c) => encodeURIComponent(c));
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`,
      ),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(file.field)}"; filename="${quoted(file.fileName)}"\r\n` +
        `Content-Type: ${file.mimetype}\r\n\r\n`,
    ),
    Buffer.from(file.bytes),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return Buffer.concat(parts);
}
