/**
 * A thin client for the GHL API as the sandbox (or GHL) serves it, sending the headers the spec asks
 * for. It returns status, headers and body instead of throwing, so tests can assert on error answers.
 * It is a test and demo tool, not the product's GHL adapter.
 */

/** `Version` per API family (GHL-CONTRACT §1). */
export const GHL_VERSIONS = {
  contacts: '2021-07-28',
  locations: '2021-07-28',
  oauth: '2021-07-28',
  marketplace: '2021-07-28',
  conversations: '2021-04-15',
} as const;

export interface GhlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface GhlRequestOptions {
  token?: string;
  /** `Version` header; `null` sends none. */
  version?: string | null;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  form?: Record<string, string | undefined>;
  headers?: Record<string, string>;
}

export interface AuthorizeResult {
  status: number;
  location: string | null;
  code: string | null;
  state: string | null;
}

type Json = Record<string, unknown>;

export class GhlSandboxApiClient {
  constructor(readonly baseUrl: string) {}

  async request<T = Json>(
    method: string,
    path: string,
    options: GhlRequestOptions = {},
  ): Promise<GhlResponse<T>> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.version) headers.version = options.version;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(options.form)) if (v !== undefined) form.set(k, v);
      body = form.toString();
    }
    const qs = query.toString();
    const res = await fetch(`${this.baseUrl}${path}${qs ? `?${qs}` : ''}`, {
      method,
      headers,
      body,
      redirect: 'manual',
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (an HTML page): keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  /** The marketplace consent page; returns the code from the 302 `Location`. */
  async authorize(params: {
    clientId: string;
    redirectUri: string;
    scope?: string;
    state?: string;
    legacyPath?: boolean;
  }): Promise<AuthorizeResult> {
    const res = await this.request<unknown>(
      'GET',
      params.legacyPath ? '/oauth/chooselocation' : '/v2/oauth/chooselocation',
      {
        version: null,
        query: {
          response_type: 'code',
          redirect_uri: params.redirectUri,
          client_id: params.clientId,
          scope: params.scope,
          state: params.state,
        },
      },
    );
    const location = res.headers.get('location');
    const url = location ? new URL(location) : null;
    return {
      status: res.status,
      location,
      code: url?.searchParams.get('code') ?? null,
      state: url?.searchParams.get('state') ?? null,
    };
  }

  exchangeCode(p: {
    clientId: string;
    clientSecret: string;
    code: string;
    redirectUri?: string;
    userType?: string;
  }) {
    return this.request('POST', '/oauth/token', {
      form: {
        client_id: p.clientId,
        client_secret: p.clientSecret,
        grant_type: 'authorization_code',
        code: p.code,
        user_type: p.userType,
        redirect_uri: p.redirectUri,
      },
    });
  }

  refresh(p: { clientId: string; clientSecret: string; refreshToken: string; userType?: string }) {
    return this.request('POST', '/oauth/token', {
      form: {
        client_id: p.clientId,
        client_secret: p.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: p.refreshToken,
        user_type: p.userType,
      },
    });
  }

  locationToken(companyToken: string, p: { companyId: string; locationId: string }) {
    return this.request('POST', '/oauth/locationToken', {
      token: companyToken,
      version: GHL_VERSIONS.oauth,
      form: p,
    });
  }

  installedLocations(
    companyToken: string,
    query: { companyId: string; appId: string; isInstalled?: boolean; skip?: number; limit?: number },
  ) {
    return this.request('GET', '/oauth/installedLocations', {
      token: companyToken,
      version: GHL_VERSIONS.oauth,
      query,
    });
  }

  upsertContact(token: string, body: Json) {
    return this.request('POST', '/contacts/upsert', { token, version: GHL_VERSIONS.contacts, json: body });
  }

  duplicateContact(token: string, query: { locationId: string; number?: string; email?: string }) {
    return this.request('GET', '/contacts/search/duplicate', {
      token,
      version: GHL_VERSIONS.contacts,
      query,
    });
  }

  getContact(token: string, contactId: string) {
    return this.request('GET', `/contacts/${encodeURIComponent(contactId)}`, {
      token,
      version: GHL_VERSIONS.contacts,
    });
  }

  addTags(token: string, contactId: string, tags: string[]) {
    return this.request('POST', `/contacts/${encodeURIComponent(contactId)}/tags`, {
      token,
      version: GHL_VERSIONS.contacts,
      json: { tags },
    });
  }

  removeTags(token: string, contactId: string, tags: string[]) {
    return this.request('DELETE', `/contacts/${encodeURIComponent(contactId)}/tags`, {
      token,
      version: GHL_VERSIONS.contacts,
      json: { tags },
    });
  }

  getLocation(token: string, locationId: string) {
    return this.request('GET', `/locations/${encodeURIComponent(locationId)}`, {
      token,
      version: GHL_VERSIONS.locations,
    });
  }

  searchConversations(token: string, query: { locationId: string; contactId?: string; limit?: number }) {
    return this.request('GET', '/conversations/search', {
      token,
      version: GHL_VERSIONS.conversations,
      query,
    });
  }

  createConversation(token: string, body: { locationId: string; contactId: string }) {
    return this.request('POST', '/conversations/', {
      token,
      version: GHL_VERSIONS.conversations,
      json: body,
    });
  }

  addInboundMessage(token: string, body: Json) {
    return this.request('POST', '/conversations/messages/inbound', {
      token,
      version: GHL_VERSIONS.conversations,
      json: body,
    });
  }

  sendMessage(token: string, body: Json) {
    return this.request('POST', '/conversations/messages', {
      token,
      version: GHL_VERSIONS.conversations,
      json: body,
    });
  }

  updateMessageStatus(token: string, messageId: string, body: Json) {
    return this.request('PUT', `/conversations/messages/${encodeURIComponent(messageId)}/status`, {
      token,
      version: GHL_VERSIONS.conversations,
      json: body,
    });
  }

  listMessages(
    token: string,
    conversationId: string,
    query: { lastMessageId?: string; limit?: number; type?: string } = {},
  ) {
    return this.request('GET', `/conversations/${encodeURIComponent(conversationId)}/messages`, {
      token,
      version: GHL_VERSIONS.conversations,
      query,
    });
  }
}
