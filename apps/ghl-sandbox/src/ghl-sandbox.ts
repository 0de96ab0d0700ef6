import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type {
  InstallationDto,
  RecordedRequestDto,
  SandboxSettingsDto,
  WebhookDeliveryDto,
} from '@app/ghl-sandbox-client/admin-api.types';
import { AdminRouter } from './admin/admin.router';
import { ContactsService, contactsHandlers } from './api/contacts.handlers';
import { conversationsHandlers } from './api/conversations.handlers';
import { ConversationsService } from './api/conversations.service';
import { locationsHandlers } from './api/locations.handlers';
import { oauthHandlers } from './api/oauth.handlers';
import { OAuthService } from './auth/oauth.service';
import {
  DEMO_COMPANY_ID,
  DEMO_LOCATION_ID,
  DEMO_LOCATION_NAME,
  DEMO_PROVIDER_ID,
  parseSandboxConfig,
  type SandboxConfig,
  type SandboxConfigInput,
} from './config/sandbox-config.schema';
import { FaultInjector } from './faults/fault-injector';
import { chooseLocation, isChooseLocationPath } from './http/choose-location.page';
import { GhlHttpError } from './http/ghl-http.error';
import { GhlRequestPipeline, type PipelineResult } from './http/ghl-request.pipeline';
import { parseBody, readRawBody, type ParsedBody } from './http/request-body';
import { OpenApiCatalog } from './openapi/openapi-catalog';
import { resolveOpenApiDir } from './openapi/openapi-files';
import { RateLimiter } from './rate-limit/rate-limiter';
import type { SandboxContext } from './sandbox-context';
import { SandboxState } from './state/sandbox-state';
import { loadSigningKeys } from './webhooks/signing-keys';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher';
import { installPayload, uninstallPayload } from './webhooks/webhook-payloads';

/** Body validators compiled at start-up, so the first product requests are not slowed by ajv. */
const IMPLEMENTED_OPERATIONS_WARM_UP = [
  'get-access-token',
  'get-location-access-token',
  'upsert-contact',
  'create-contact',
  'update-contact',
  'add-tags',
  'remove-tags',
  'create-conversation',
  'add-an-inbound-message',
  'send-a-new-message',
  'update-message-status',
  'upload-file-attachments',
];

export interface GhlSandbox {
  /** Base URL, e.g. http://127.0.0.1:8090 (API, marketplace page and admin API share it). */
  readonly url: string;
  readonly port: number;
  readonly state: SandboxState;
  readonly config: SandboxConfig;
  readonly settings: SandboxSettingsDto;
  readonly context: SandboxContext;
  close(): Promise<void>;
}

function settingsFrom(config: SandboxConfig): SandboxSettingsDto {
  return {
    autoApprove: config.autoApprove ?? config.seedDemo,
    statusUpdateDelaySeconds: config.statusUpdateDelaySeconds,
    ...(config.webhookUrl ? { webhookUrl: config.webhookUrl } : {}),
    versionMode: config.versionMode,
    rejectUnknownProperties: config.rejectUnknownProperties,
    signRsa: config.webhook.signRsa,
    rateLimit: { ...config.rateLimit },
    webhookRetryDelayMs: config.webhook.retryDelayMs,
    webhookMaxRetries: config.webhook.maxRetries,
  };
}

function seedDemo(ctx: SandboxContext): void {
  const { state, config } = ctx;
  state.ensureCompany(DEMO_COMPANY_ID, 'Demo Agency');
  state.addLocation({
    id: DEMO_LOCATION_ID,
    companyId: DEMO_COMPANY_ID,
    name: DEMO_LOCATION_NAME,
    address: '47 W 13th St, New York, NY 10011, USA',
    timezone: 'America/New_York',
    country: 'US',
    active: true,
    allowDuplicateContact: false,
    createdAt: new Date().toISOString(),
  });
  // An extra ("custom") SMS provider: the documented path for a WhatsApp bridge (GHL-CONTRACT §5).
  state.providers.set(DEMO_PROVIDER_ID, {
    id: DEMO_PROVIDER_ID,
    appId: config.appId,
    name: 'WhatsApp (sandbox)',
    type: 'SMS',
    isCustom: true,
    deliveryUrl: config.providerDeliveryUrl,
    outboundType: 'SMS',
  });
}

function headersAsStrings(headers: IncomingMessage['headers']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
  );
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const existing = out[key];
    out[key] =
      existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Starts a GHL sandbox in this process. Tests pass `{ port: 0 }` for a free port and
 * `{ logLevel: 'silent' }`; the entrypoint passes the configuration parsed from the environment.
 */
export async function startGhlSandbox(input: SandboxConfigInput | SandboxConfig = {}): Promise<GhlSandbox> {
  const config = parseSandboxConfig(input);
  const logger: Logger = pino({
    name: 'ghl-sandbox',
    level: config.logLevel,
    redact: { paths: ['authorization', '*.authorization', 'token', '*.token'], censor: '[redacted]' },
  });
  const settings = settingsFrom(config);
  const state = new SandboxState();
  const keys = loadSigningKeys(config.ed25519PrivateKeyPem, config.rsaPrivateKeyPem);
  const catalog = new OpenApiCatalog(resolveOpenApiDir(config.openapiDir));
  catalog.warmUp(IMPLEMENTED_OPERATIONS_WARM_UP);
  const webhooks = new WebhookDispatcher(state, keys, settings, config.webhook.timeoutMs, logger);
  let publicUrl = config.publicUrl ?? '';

  // The OAuth service announces installs through the context, which is built just below.
  const oauth = new OAuthService(state, config, settings, (installs) => ctx.sendInstallWebhooks(installs));
  const ctx: SandboxContext = {
    config,
    settings,
    state,
    logger,
    keys,
    catalog,
    rateLimiter: new RateLimiter(settings),
    faults: new FaultInjector(),
    webhooks,
    oauth,
    contacts: new ContactsService(state),
    conversations: new ConversationsService(state, config, webhooks),
    publicUrl: () => publicUrl,
    reset() {
      state.reset();
      ctx.rateLimiter.reset();
      ctx.faults.clear();
      if (config.seedDemo) seedDemo(ctx);
    },
    sendInstallWebhooks(installs: InstallationDto[], url = settings.webhookUrl): WebhookDeliveryDto[] {
      if (!url) return [];
      return installs.map((install) =>
        webhooks.send(
          'INSTALL',
          url,
          installPayload(config, install, state.companies.get(install.companyId)),
        ),
      );
    },
    sendUninstallWebhook(target, url = settings.webhookUrl) {
      return url ? webhooks.send('UNINSTALL', url, uninstallPayload(config, target)) : undefined;
    },
  };
  if (config.seedDemo) seedDemo(ctx);

  const pipeline = new GhlRequestPipeline(ctx, {
    ...oauthHandlers({
      state,
      config,
      oauth: ctx.oauth,
      onUninstall: (_removed, target) => ctx.sendUninstallWebhook(target),
    }),
    ...contactsHandlers(state, ctx.contacts),
    ...conversationsHandlers({
      state,
      config,
      settings,
      contacts: ctx.contacts,
      conversations: ctx.conversations,
      publicUrl: () => publicUrl,
    }),
    ...locationsHandlers(state),
  });
  const admin = new AdminRouter(ctx);

  const handleGhl = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
  ): Promise<void> => {
    const started = Date.now();
    const record: RecordedRequestDto = {
      seq: state.nextRequestSeq(),
      at: new Date(started).toISOString(),
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: headersAsStrings(req.headers),
      body: null,
      status: 0,
      responseBody: null,
      durationMs: 0,
    };
    let result: PipelineResult = { status: 500, headers: {} };
    let html: string | undefined;
    try {
      const body: ParsedBody = parseBody(await readRawBody(req), req.headers['content-type']);
      record.body =
        body.files.length > 0
          ? { ...(body.value as object), files: body.files.map((f) => f.filename) }
          : body.value;
      if (method === 'GET' && isChooseLocationPath(url.pathname)) {
        record.operationId = 'choose-location';
        const page = chooseLocation(ctx, url.pathname, url.searchParams);
        result = { status: page.status, headers: page.headers };
        html = page.html;
      } else {
        result = await pipeline.run(
          { method, path: url.pathname, query: queryRecord(url.searchParams), headers: req.headers, body },
          result,
        );
        record.operationId = ctx.catalog.match(method, url.pathname)?.operation.operationId;
      }
    } catch (err) {
      record.operationId ??= ctx.catalog.match(method, url.pathname)?.operation.operationId;
      if (err instanceof GhlHttpError) {
        result = {
          ...result,
          status: err.status,
          body: err.body,
          headers: { ...result.headers, ...err.headers },
        };
      } else {
        logger.error({ err, method, path: url.pathname }, 'sandbox bug while handling a request');
        result = { ...result, status: 500, body: { statusCode: 500, message: 'Internal server error' } };
      }
    }
    record.status = result.status;
    record.responseBody = result.body ?? null;
    record.durationMs = Date.now() - started;
    if (result.locationId) record.locationId = result.locationId;
    if (result.faultId) record.faultId = result.faultId;
    state.recordRequest(record);
    logger.debug({ method, path: url.pathname, status: result.status, ms: record.durationMs }, 'request');
    if (result.drop) {
      req.socket.destroy();
      return;
    }
    if (html !== undefined) {
      res.writeHead(result.status, { ...result.headers, 'content-length': Buffer.byteLength(html) });
      res.end(html);
      return;
    }
    if (result.status === 302) {
      res.writeHead(302, result.headers);
      res.end();
      return;
    }
    sendJson(res, result.status, result.body, result.headers);
  };

  const handleAdmin = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
  ): Promise<void> => {
    const raw = await readRawBody(req);
    let body: unknown = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        sendJson(res, 400, { statusCode: 400, message: 'admin API bodies are JSON', error: 'Bad Request' });
        return;
      }
    }
    const response = await admin.handle(method, url.pathname, req.headers, url.searchParams, body);
    sendJson(res, response.status, response.body);
  };

  const serveFile = (res: ServerResponse, path: string): void => {
    const id = path.split('/')[3];
    const file = id ? state.files.get(id) : undefined;
    if (!file) {
      sendJson(res, 404, { statusCode: 404, message: 'file not found', error: 'Not Found' });
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.data.length });
    res.end(file.data);
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'GET' && (url.pathname === '/health/live' || url.pathname === '/health/ready')) {
      // Probes for local orchestration (tools/local/start.ts); not a GHL route and not recorded.
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    const work =
      url.pathname === '/admin' || url.pathname.startsWith('/admin/')
        ? handleAdmin(req, res, url, method)
        : url.pathname.startsWith('/_sandbox/files/')
          ? Promise.resolve(serveFile(res, url.pathname))
          : handleGhl(req, res, url, method);
    work.catch((err: unknown) => {
      logger.error({ err, path: url.pathname }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { statusCode: 500, message: 'Internal server error' });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  if (!publicUrl) publicUrl = url;
  logger.info({ url, appId: config.appId, seedDemo: config.seedDemo }, 'GHL sandbox listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    state,
    config,
    settings,
    context: ctx,
    close() {
      closing ??= (async () => {
        await webhooks.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
