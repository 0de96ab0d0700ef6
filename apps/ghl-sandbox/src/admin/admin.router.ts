import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type {
  AppInfoDto,
  CompanyWithLocationsDto,
  CountsDto,
  LocationDto,
  MessageDto,
  ProviderDto,
  RecordedRequestDto,
  SimulatedMessageDto,
  TokenPairDto,
  WebhookDeliveryDto,
} from '@app/ghl-sandbox-client/admin-api.types';
import { encryptUserContext } from '@app/ghl-sandbox-client/sso-user-context';
import { toE164 } from '../state/phone';
import type { SandboxContext } from '../sandbox-context';
import {
  createCompanySchema,
  createLocationSchema,
  createProviderSchema,
  faultSchema,
  grantSchema,
  installWebhookSchema,
  issueCodeSchema,
  issueTokenSchema,
  settingsSchema,
  simulateUserMessageSchema,
  ssoSchema,
  tokenSelectorSchema,
  uninstallWebhookSchema,
  updateLocationSchema,
  updateProviderSchema,
} from './admin.schemas';

export interface AdminRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface AdminResponse {
  status: number;
  body?: unknown;
}

type AdminHandler = (req: AdminRequest) => AdminResponse | Promise<AdminResponse>;

interface Route {
  method: string;
  regex: RegExp;
  names: string[];
  public: boolean;
  handler: AdminHandler;
}

export class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ERROR_NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
};

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    throw new AdminError(
      400,
      result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}

const ok = (body: unknown, status = 200): AdminResponse => ({ status, body });

/**
 * The sandbox's admin API (not part of GHL): state inspection, scripting of the consent page, fault
 * injection, token control, webhooks and the custom-page helper. Every route but `health` and `keys`
 * needs `Authorization: Bearer <ADMIN_TOKEN>` (or `x-admin-token`).
 */
export class AdminRouter {
  private readonly routes: Route[] = [];

  constructor(private readonly ctx: SandboxContext) {
    this.register();
  }

  async handle(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    query: URLSearchParams,
    body: unknown,
  ): Promise<AdminResponse> {
    try {
      const candidates = this.routes.filter((r) => r.regex.test(path));
      const route = candidates.find((r) => r.method === method);
      if (!route)
        throw new AdminError(
          404,
          candidates.length > 0 ? `Method ${method} not allowed on ${path}` : `No admin route ${path}`,
        );
      if (!route.public && !this.authorised(headers)) throw new AdminError(401, 'admin token required');
      const m = route.regex.exec(path)!;
      const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      return await route.handler({ params, query, body });
    } catch (err) {
      if (err instanceof AdminError) {
        return {
          status: err.status,
          body: { statusCode: err.status, message: err.message, error: ERROR_NAMES[err.status] ?? 'Error' },
        };
      }
      // A GHL-style error thrown by a shared service (e.g. an unknown location in a grant).
      const ghl = err as { status?: number; body?: { message?: unknown } };
      if (typeof ghl.status === 'number' && ghl.body) {
        const message =
          typeof ghl.body.message === 'string' ? ghl.body.message : JSON.stringify(ghl.body.message);
        return {
          status: ghl.status,
          body: { statusCode: ghl.status, message, error: ERROR_NAMES[ghl.status] ?? 'Error' },
        };
      }
      throw err;
    }
  }

  private authorised(headers: IncomingHttpHeaders): boolean {
    const given = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '')?.[1] ?? headers['x-admin-token'];
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.ctx.config.adminToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private route(method: string, pattern: string, handler: AdminHandler, isPublic = false): void {
    const names: string[] = [];
    const regex = new RegExp(
      `^${pattern.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      })}/?$`,
    );
    this.routes.push({ method, regex, names, public: isPublic, handler });
  }

  private register(): void {
    const { ctx } = this;
    const { state } = ctx;

    this.route('GET', '/admin/health', () => ok({ status: 'ok' }), true);
    this.route(
      'GET',
      '/admin/keys',
      () =>
        ok({ ed25519PublicKeyPem: ctx.keys.ed25519PublicKeyPem, rsaPublicKeyPem: ctx.keys.rsaPublicKeyPem }),
      true,
    );
    this.route('GET', '/admin/app', () =>
      ok({
        clientId: ctx.config.clientId,
        appId: ctx.config.appId,
        versionId: ctx.config.versionId,
        scopes: ctx.config.scopes,
        apiBaseUrl: ctx.publicUrl(),
        marketplaceBaseUrl: ctx.publicUrl(),
      } satisfies AppInfoDto),
    );

    this.route('GET', '/admin/settings', () => ok(ctx.settings));
    this.route('PATCH', '/admin/settings', (req) => {
      const { rateLimit, ...rest } = parse(settingsSchema, req.body);
      Object.assign(ctx.settings, rest);
      if (rateLimit) Object.assign(ctx.settings.rateLimit, rateLimit);
      return ok(ctx.settings);
    });

    this.route('GET', '/admin/state', () => ok(state.snapshot()));
    this.route('POST', '/admin/reset', () => {
      ctx.reset();
      return ok({ ok: true });
    });

    // ---- companies, locations, providers ----
    this.route('POST', '/admin/companies', (req) => {
      const input = parse(createCompanySchema, req.body);
      const companyId = input.id ?? state.newId();
      if (state.companies.has(companyId)) throw new AdminError(409, `company ${companyId} exists`);
      const company = state.ensureCompany(companyId, input.name);
      const locations = (input.locations ?? []).map((l) => this.createLocation({ ...l, companyId }));
      return ok({ ...company, locations } satisfies CompanyWithLocationsDto, 201);
    });
    this.route('POST', '/admin/locations', (req) =>
      ok(this.createLocation(parse(createLocationSchema, req.body)), 201),
    );
    this.route('GET', '/admin/locations', () => ok([...state.locations.values()]));
    this.route('PATCH', '/admin/locations/:id', (req) => {
      const location = state.locations.get(req.params.id);
      if (!location) throw new AdminError(404, `location ${req.params.id} not found`);
      Object.assign(location, parse(updateLocationSchema, req.body));
      return ok(location);
    });

    this.route('POST', '/admin/providers', (req) => {
      const input = parse(createProviderSchema, req.body);
      const provider: ProviderDto = {
        id: input.id ?? state.newId(),
        appId: input.appId ?? ctx.config.appId,
        name: input.name ?? 'WhatsApp',
        type: input.type ?? 'SMS',
        isCustom: input.isCustom ?? true,
        deliveryUrl: input.deliveryUrl,
        outboundType: input.outboundType ?? (input.type === 'Email' ? 'Email' : 'SMS'),
      };
      state.providers.set(provider.id, provider);
      return ok(provider, 201);
    });
    this.route('GET', '/admin/providers', () => ok([...state.providers.values()]));
    this.route('PATCH', '/admin/providers/:id', (req) => {
      const provider = state.providers.get(req.params.id);
      if (!provider) throw new AdminError(404, `provider ${req.params.id} not found`);
      Object.assign(provider, parse(updateProviderSchema, req.body));
      return ok(provider);
    });

    // ---- OAuth scripting ----
    this.route('POST', '/admin/oauth/next-grant', (req) => {
      const grant = parse(grantSchema, req.body);
      ctx.oauth.resolveGrant(grant); // fail now, not at the consent page
      state.pendingGrants.push(grant);
      return ok({ pendingGrants: state.pendingGrants }, 201);
    });
    this.route('DELETE', '/admin/oauth/next-grant', () => {
      state.pendingGrants.length = 0;
      return ok({ pendingGrants: [] });
    });
    this.route('POST', '/admin/oauth/codes', (req) => {
      const input = parse(issueCodeSchema, req.body);
      const code = ctx.oauth.approve(input.grant, input.redirectUri);
      return ok(
        { code: code.code, expiresAt: new Date(code.expiresAt).toISOString(), grant: code.grant },
        201,
      );
    });

    // ---- tokens ----
    this.route('POST', '/admin/tokens', (req) => {
      const input = parse(issueTokenSchema, req.body);
      const location = input.locationId ? state.locations.get(input.locationId) : undefined;
      if (input.locationId && !location) throw new AdminError(404, `location ${input.locationId} not found`);
      const companyId = location?.companyId ?? input.companyId!;
      if (!state.companies.has(companyId)) throw new AdminError(404, `company ${companyId} not found`);
      const { access, refresh } = ctx.oauth.issuePair({
        userType: location ? 'Location' : 'Company',
        ...(location ? { locationId: location.id } : {}),
        companyId,
        userId: state.newId(),
        scopes: input.scopes ?? ctx.config.scopes,
      });
      const pair: TokenPairDto = {
        access_token: access.token,
        refresh_token: refresh.token,
        expires_in: ctx.config.accessTokenTtlSeconds,
        userType: access.userType,
        ...(access.locationId ? { locationId: access.locationId } : {}),
        companyId,
        scope: access.scopes.join(' '),
      };
      return ok(pair, 201);
    });
    this.route('GET', '/admin/tokens', (req) => {
      const locationId = req.query.get('locationId');
      const companyId = req.query.get('companyId');
      const rows = [...state.tokens.values()]
        .filter(
          (t) => (!locationId || t.locationId === locationId) && (!companyId || t.companyId === companyId),
        )
        .map((t) => state.tokenSummary(t));
      return ok(rows);
    });
    this.route('POST', '/admin/tokens/revoke', (req) =>
      ok({ revoked: ctx.oauth.revoke(parse(tokenSelectorSchema, req.body)) }),
    );
    this.route('POST', '/admin/tokens/expire', (req) =>
      ok({ expired: ctx.oauth.expire(parse(tokenSelectorSchema, req.body)) }),
    );

    // ---- faults and rate limits ----
    this.route('POST', '/admin/faults', (req) => ok(ctx.faults.add(parse(faultSchema, req.body)), 201));
    this.route('GET', '/admin/faults', () => ok(ctx.faults.list()));
    this.route('DELETE', '/admin/faults', () => {
      ctx.faults.clear();
      return ok({ ok: true });
    });
    this.route('DELETE', '/admin/faults/:id', (req) => {
      if (!ctx.faults.remove(req.params.id)) throw new AdminError(404, `fault ${req.params.id} not found`);
      return ok({ ok: true });
    });
    this.route('POST', '/admin/rate-limits/reset', () => {
      ctx.rateLimiter.reset();
      return ok({ ok: true });
    });

    // ---- inspection ----
    this.route('GET', '/admin/requests', (req) => ok(this.requests(req.query)));
    this.route('DELETE', '/admin/requests', () => {
      state.requests.length = 0;
      return ok({ ok: true });
    });
    this.route('GET', '/admin/contacts', (req) => {
      const locationId = req.query.get('locationId');
      const phone = req.query.get('phone');
      const e164 = phone ? toE164(phone) : null;
      return ok(
        [...state.contacts.values()].filter(
          (c) => (!locationId || c.locationId === locationId) && (!e164 || c.phone === e164),
        ),
      );
    });
    this.route('GET', '/admin/conversations', (req) => {
      const locationId = req.query.get('locationId');
      return ok([...state.conversations.values()].filter((c) => !locationId || c.locationId === locationId));
    });
    this.route('GET', '/admin/messages', (req) => ok(this.messages(req.query)));
    this.route('GET', '/admin/counts', (req) => ok(this.counts(req.query.get('locationId'))));

    // ---- simulated GHL user and webhooks ----
    this.route('POST', '/admin/messages/outbound', (req) => ok(this.simulateUserMessage(req.body), 201));
    this.route('POST', '/admin/webhooks/install', async (req) => {
      const input = parse(installWebhookSchema, req.body);
      const url = input.url ?? ctx.settings.webhookUrl;
      if (!url) throw new AdminError(400, 'no webhook URL: pass url or configure WEBHOOK_URL');
      const install = input.locationId
        ? state.locationInstalls.get(input.locationId)
        : state.companyInstalls.get(input.companyId!);
      const companyId = input.companyId ?? state.locations.get(input.locationId!)?.companyId;
      if (!companyId) throw new AdminError(404, `location ${input.locationId} not found`);
      const [delivery] = ctx.sendInstallWebhooks(
        [
          install ?? {
            userType: input.locationId ? 'Location' : 'Company',
            companyId,
            ...(input.locationId ? { locationId: input.locationId } : {}),
            userId: state.newId(),
            installedAt: new Date().toISOString(),
          },
        ],
        url,
      );
      return ok(input.wait ? await ctx.webhooks.settled(delivery.id) : delivery, 201);
    });
    this.route('POST', '/admin/webhooks/uninstall', async (req) => {
      const input = parse(uninstallWebhookSchema, req.body);
      const url = input.url ?? ctx.settings.webhookUrl;
      if (!url) throw new AdminError(400, 'no webhook URL: pass url or configure WEBHOOK_URL');
      const target = input.locationId ? { locationId: input.locationId } : { companyId: input.companyId! };
      if (input.uninstall ?? true) ctx.oauth.uninstall(target);
      const delivery = ctx.sendUninstallWebhook(target, url)!;
      return ok(input.wait ? await ctx.webhooks.settled(delivery.id) : delivery, 201);
    });
    this.route('GET', '/admin/webhooks/deliveries', (req) => {
      const kind = req.query.get('kind');
      return ok([...state.deliveries.values()].filter((d) => !kind || d.kind === kind));
    });
    this.route('GET', '/admin/webhooks/deliveries/:id', async (req) => {
      const delivery =
        req.query.get('wait') === '1'
          ? await ctx.webhooks.settled(req.params.id)
          : state.deliveries.get(req.params.id);
      if (!delivery) throw new AdminError(404, `delivery ${req.params.id} not found`);
      return ok(delivery);
    });

    this.route('POST', '/admin/sso/encrypt', (req) => {
      const input = parse(ssoSchema, req.body);
      const context = {
        ...input,
        companyId:
          input.companyId ??
          (input.activeLocation ? state.locations.get(input.activeLocation)?.companyId : undefined) ??
          '',
      };
      return ok({ payload: context, encrypted: encryptUserContext(context, ctx.config.sharedSecret) });
    });
  }

  createLocation(input: z.output<typeof createLocationSchema>): LocationDto {
    const { state } = this.ctx;
    const id = input.id ?? state.newId();
    if (state.locations.has(id)) throw new AdminError(409, `location ${id} exists`);
    return state.addLocation({
      id,
      companyId: input.companyId ?? state.newId(),
      name: input.name ?? `Location ${id}`,
      address: input.address ?? '47 W 13th St, New York, NY 10011, USA',
      timezone: input.timezone ?? 'America/New_York',
      country: input.country ?? 'US',
      active: input.active ?? true,
      allowDuplicateContact: input.allowDuplicateContact ?? false,
      createdAt: new Date().toISOString(),
    });
  }

  private requests(query: URLSearchParams): RecordedRequestDto[] {
    const method = query.get('method')?.toUpperCase();
    const path = query.get('path');
    const operationId = query.get('operationId');
    const locationId = query.get('locationId');
    const afterSeq = Number(query.get('afterSeq') ?? '0');
    return this.ctx.state.requests.filter(
      (r) =>
        r.seq > afterSeq &&
        (!method || r.method === method) &&
        (!path || (path.endsWith('*') ? r.path.startsWith(path.slice(0, -1)) : r.path === path)) &&
        (!operationId || r.operationId === operationId) &&
        (!locationId || r.locationId === locationId),
    );
  }

  private messages(query: URLSearchParams): MessageDto[] {
    const filters: Array<[keyof MessageDto, string | null]> = [
      ['locationId', query.get('locationId')],
      ['conversationId', query.get('conversationId')],
      ['contactId', query.get('contactId')],
      ['altId', query.get('altId')],
      ['direction', query.get('direction')],
    ];
    return [...this.ctx.state.messages.values()].filter((m) =>
      filters.every(([k, v]) => v === null || m[k] === v),
    );
  }

  private counts(locationId: string | null): CountsDto {
    const { state } = this.ctx;
    const inLocation = <T extends { locationId?: string }>(rows: Iterable<T>): T[] =>
      [...rows].filter((r) => !locationId || r.locationId === locationId);
    const messages = inLocation(state.messages.values());
    const byAltId: Record<string, number> = {};
    for (const m of messages)
      if (m.origin === 'inbound-api' && m.altId !== undefined) byAltId[m.altId] = (byAltId[m.altId] ?? 0) + 1;
    const phones: Record<string, number> = {};
    for (const c of inLocation(state.contacts.values())) {
      if (c.phone) phones[`${c.locationId}:${c.phone}`] = (phones[`${c.locationId}:${c.phone}`] ?? 0) + 1;
    }
    const byOperation: Record<string, number> = {};
    for (const r of inLocation(state.requests)) {
      const key = r.operationId ?? `${r.method} ${r.path}`;
      byOperation[key] = (byOperation[key] ?? 0) + 1;
    }
    return {
      contacts: inLocation(state.contacts.values()).length,
      conversations: inLocation(state.conversations.values()).length,
      messages: {
        inbound: messages.filter((m) => m.direction === 'inbound').length,
        outbound: messages.filter((m) => m.direction === 'outbound').length,
      },
      messagesByAltId: byAltId,
      duplicateAltIds: Object.keys(byAltId).filter((k) => byAltId[k] > 1),
      duplicatePhones: Object.keys(phones)
        .filter((k) => phones[k] > 1)
        .map((k) => k.slice(k.indexOf(':') + 1)),
      requestsByOperation: byOperation,
    };
  }

  /** A user typing a reply in GHL: an outbound message and a ProviderOutboundMessage (§5). */
  private simulateUserMessage(body: unknown): SimulatedMessageDto {
    const { state, conversations, contacts } = this.ctx;
    const input = parse(simulateUserMessageSchema, body);
    if (!state.locations.has(input.locationId))
      throw new AdminError(404, `location ${input.locationId} not found`);
    const e164 = input.phone ? toE164(input.phone) : null;
    const contact = input.contactId
      ? state.contacts.get(input.contactId)
      : e164
        ? contacts.byPhone(input.locationId, e164)
        : undefined;
    if (!contact || contact.locationId !== input.locationId)
      throw new AdminError(404, 'contact not found in that location');
    const provider = input.conversationProviderId
      ? state.providers.get(input.conversationProviderId)
      : (conversations.defaultProvider('SMS') ?? conversations.defaultProvider('Custom'));
    if (!provider)
      throw new AdminError(400, 'no conversation provider: register one with POST /admin/providers');
    const now = Date.now();
    const conversation = conversations.findOrCreate(input.locationId, contact.id, now);
    const { message, delivery } = conversations.sendOutbound(
      {
        locationId: input.locationId,
        contact,
        conversation,
        type: provider.outboundType === 'Email' ? 'Email' : 'SMS',
        body: input.message,
        attachments: input.attachments,
        provider,
        origin: 'ghl-user',
        source: 'app',
        userId: input.userId ?? 'sandboxUser000000001',
      },
      now,
    );
    return { message, ...(delivery ? { delivery: delivery satisfies WebhookDeliveryDto } : {}) };
  }
}
