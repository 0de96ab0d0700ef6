import { z } from 'zod';
import {
  apiKeyIdParamsSchema,
  apiKeyListSchema,
  apiKeySummarySchema,
  createApiKeySchema,
  createdApiKeySchema,
  dashboardSessionSchema,
  devSessionBodySchema,
  sessionExchangeBodySchema,
} from '../auth/auth.schemas';
import { errorBodySchema } from '../http/error-body.schema';
import {
  commandAcceptedSchema,
  debugSchema,
  locationListQuerySchema,
  locationListSchema,
  locationParamsSchema,
  locationStatusSchema,
  pairingCodeBodySchema,
  pairingCodeSchema,
  recentEventsQuerySchema,
  recentEventsSchema,
  sendMessageBodySchema,
  sentMessageSchema,
} from '../locations/locations.schemas';
import { callbackQuerySchema } from '../oauth/oauth.controller';
import { qrQuerySchema } from '../qr/qr.schemas';
import {
  adminDeadLetterQuerySchema,
  deadLetterPageSchema,
  deadLetterQuerySchema,
  timelinePageSchema,
  timelineQuerySchema,
} from '../timeline/timeline.schemas';
import { providerOutboundSchema, webhookAcceptedSchema } from '../webhooks/ghl-webhook.schemas';

type Security = 'credential' | 'operator' | 'admin' | 'public' | 'signature';

interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface OperationSpec {
  method: 'get' | 'post' | 'delete';
  /** Express form (`:locationId`); converted to `{locationId}` in the document. */
  path: string;
  summary: string;
  tag: string;
  security: Security;
  params?: z.ZodObject;
  query?: z.ZodObject | z.ZodType;
  body?: z.ZodType;
  responses: Record<number, ResponseSpec>;
}

const err = (description: string): ResponseSpec => ({ description, schema: errorBodySchema });
const locationErrors = {
  400: err('Bad input (`invalid_request`, `invalid_location_id`)'),
  401: err('No or bad credential (`unauthorized`)'),
  403: err('The credential may not act on this location (`forbidden_location`)'),
  429: err('Too many requests with this credential (`rate_limited`); see Retry-After'),
};
const commandErrors = {
  ...locationErrors,
  404: err('The app is not installed for this location (`location_not_installed`)'),
  409: err('`session_not_running`, `not_connected`, `session_moving`'),
  502: err('`upstream_error`'),
  503: err('`service_unavailable` (no worker), `capacity_exhausted`, `bus_unavailable`'),
  504: err('`timeout`: the owner did not answer in time'),
};
const operatorErrors = {
  ...locationErrors,
  403: err(
    'A dashboard session (`operator_required`: an API key is needed), or a key of another location (`forbidden_location`)',
  ),
  503: err('`bus_unavailable`: JetStream is not answering'),
};
const LOC = '/api/locations/:locationId';

/** Every route of the api. The integration tests check that this list and the served routes agree. */
export const OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/api/locations',
    summary: 'Installed locations and their WhatsApp sessions (a location credential sees only its own)',
    tag: 'locations',
    security: 'credential',
    query: locationListQuerySchema,
    responses: { 200: { description: 'A page of locations', schema: locationListSchema }, ...locationErrors },
  },
  {
    method: 'get',
    path: `${LOC}/whatsapp/status`,
    summary: 'State, phone, last disconnect, owner worker, QR expiry and GHL installation health',
    tag: 'locations',
    security: 'credential',
    params: locationParamsSchema,
    responses: {
      200: { description: 'The status, with a plain-words explanation', schema: locationStatusSchema },
      404: err('`location_not_installed`'),
      ...locationErrors,
    },
  },
  {
    method: 'get',
    path: `${LOC}/whatsapp/qr`,
    summary: 'The live QR code as PNG (default) or SVG (`?format=svg` or `Accept: image/svg+xml`)',
    tag: 'locations',
    security: 'credential',
    params: locationParamsSchema,
    query: qrQuerySchema,
    responses: {
      200: {
        description: 'The QR image; `X-QR-Expires-At` says until when it is valid',
        contentType: 'image/png',
      },
      404: err('`no_live_qr`, with the reason in `message`'),
      ...locationErrors,
    },
  },
  ...(['connect', 'restart'] as const).map((action): OperationSpec => ({
    method: 'post',
    path: `${LOC}/whatsapp/${action}`,
    summary:
      action === 'connect' ? 'Start the session (a QR code follows if not linked)' : 'Reconnect the session',
    tag: 'locations',
    security: 'credential',
    params: locationParamsSchema,
    responses: {
      202: { description: 'Accepted by the owner', schema: commandAcceptedSchema },
      ...commandErrors,
    },
  })),
  ...(['stop', 'logout'] as const).map((action): OperationSpec => ({
    method: 'post',
    path: `${LOC}/whatsapp/${action}`,
    summary:
      action === 'stop'
        ? 'Stop the session and keep it stopped (recorded in the database when no worker runs it)'
        : 'Log out: unlink the device from the phone and delete the stored credentials',
    tag: 'locations',
    security: 'credential',
    params: locationParamsSchema,
    responses: { 200: { description: 'Done', schema: commandAcceptedSchema }, ...commandErrors },
  })),
  {
    method: 'post',
    path: `${LOC}/whatsapp/pairing-code`,
    summary: 'Link by phone number: get an 8-character code to type on the phone (session must show a QR)',
    tag: 'locations',
    security: 'credential',
    params: locationParamsSchema,
    body: pairingCodeBodySchema,
    responses: { 200: { description: 'The code', schema: pairingCodeSchema }, ...commandErrors },
  },
  {
    method: 'post',
    path: `${LOC}/whatsapp/messages`,
    summary: 'Send a WhatsApp text (operators and tests); idempotent per clientMessageId',
    tag: 'locations',
    security: 'credential',
    params: locationParamsSchema,
    body: sendMessageBodySchema,
    responses: { 200: { description: 'Sent', schema: sentMessageSchema }, ...commandErrors },
  },
  {
    method: 'get',
    path: `${LOC}/whatsapp/events`,
    summary: 'Recent lifecycle events of the session, newest first, from the durable event stream',
    tag: 'locations',
    security: 'credential',
    params: locationParamsSchema,
    query: recentEventsQuerySchema,
    responses: { 200: { description: 'Events', schema: recentEventsSchema }, ...locationErrors },
  },
  {
    method: 'get',
    path: `${LOC}/whatsapp/debug`,
    summary:
      'Everything an operator needs: lease, epoch, owner worker, auth state, tokens, recent events (no secrets)',
    tag: 'locations',
    security: 'credential',
    params: locationParamsSchema,
    responses: { 200: { description: 'Debug view', schema: debugSchema }, ...locationErrors },
  },
  {
    method: 'get',
    path: `${LOC}/events/stream`,
    summary:
      'Server-sent events for the dashboard: `snapshot`, then `status`, `qr` (with the SVG), `pairing_code`, `timeline`',
    tag: 'dashboard',
    security: 'credential',
    params: locationParamsSchema,
    responses: {
      200: { description: 'An event stream', contentType: 'text/event-stream' },
      ...locationErrors,
    },
  },
  {
    method: 'get',
    path: `${LOC}/events`,
    summary:
      "The location's session story from JetStream, in stored order: QR codes, ready, disconnects (code, reason, reconnect decision), messages in and out with their GHL outcome, token refreshes, dead letters. Operator API key; pages with `next`",
    tag: 'operators',
    security: 'operator',
    params: locationParamsSchema,
    query: timelineQuerySchema,
    responses: {
      200: { description: 'A page of the timeline', schema: timelinePageSchema },
      ...operatorErrors,
      400: err(
        'Bad input (`invalid_request` naming each bad field, `invalid_cursor`, `invalid_location_id`)',
      ),
    },
  },
  {
    method: 'get',
    path: `${LOC}/dead-letters`,
    summary: "The location's dead letters with their reasons, oldest first (operator API key)",
    tag: 'operators',
    security: 'operator',
    params: locationParamsSchema,
    query: deadLetterQuerySchema,
    responses: { 200: { description: 'Dead letters', schema: deadLetterPageSchema }, ...operatorErrors },
  },
  {
    method: 'get',
    path: '/api/dead-letters',
    summary: 'Every dead letter (or one location’s, `?location=`) with its reason, oldest first (admin)',
    tag: 'operators',
    security: 'admin',
    query: adminDeadLetterQuerySchema,
    responses: {
      200: { description: 'Dead letters', schema: deadLetterPageSchema },
      ...locationErrors,
      403: err('`admin_required`'),
      503: err('`bus_unavailable`'),
    },
  },
  {
    method: 'post',
    path: '/api/session',
    summary: "Exchange GHL's encrypted custom-page user context for a short-lived dashboard session",
    tag: 'auth',
    security: 'public',
    body: sessionExchangeBodySchema,
    responses: {
      201: { description: 'A session for the active location', schema: dashboardSessionSchema },
      400: err('`invalid_request`'),
      401: err('`invalid_user_context`'),
      403: err('`no_active_location`, `location_not_installed`'),
    },
  },
  {
    method: 'post',
    path: '/api/dev/session',
    summary: 'Development only (404 in production): a dashboard session for any installed location',
    tag: 'auth',
    security: 'public',
    body: devSessionBodySchema,
    responses: {
      201: { description: 'A session', schema: dashboardSessionSchema },
      403: err('`location_not_installed`'),
      404: err('In production'),
    },
  },
  {
    method: 'post',
    path: '/api/keys',
    summary: 'Create an API key (admin); the key is shown once',
    tag: 'auth',
    security: 'admin',
    body: createApiKeySchema,
    responses: {
      201: { description: 'The new key', schema: createdApiKeySchema },
      ...locationErrors,
      403: err('`admin_required`'),
    },
  },
  {
    method: 'get',
    path: '/api/keys',
    summary: 'List API keys (admin); never the keys themselves',
    tag: 'auth',
    security: 'admin',
    responses: {
      200: { description: 'Keys', schema: apiKeyListSchema },
      ...locationErrors,
      403: err('`admin_required`'),
    },
  },
  {
    method: 'delete',
    path: '/api/keys/:id',
    summary: 'Revoke an API key (admin)',
    tag: 'auth',
    security: 'admin',
    params: apiKeyIdParamsSchema,
    responses: {
      200: { description: 'Revoked', schema: z.object({ apiKey: apiKeySummarySchema }) },
      404: err('`api_key_not_found`'),
      ...locationErrors,
      403: err('`admin_required`'),
    },
  },
  {
    method: 'get',
    path: '/oauth/authorize',
    summary: "Start the GHL install: redirect to GHL's choose-location page",
    tag: 'install',
    security: 'public',
    responses: { 302: { description: 'Redirect to GHL' } },
  },
  {
    method: 'get',
    path: '/oauth/callback',
    summary:
      'GHL sends the user back here with a one-time code; sync exchanges it; an HTML page says how it went',
    tag: 'install',
    security: 'public',
    query: callbackQuerySchema,
    responses: {
      200: { description: 'Installed (HTML)', contentType: 'text/html' },
      400: { description: 'Missing, expired or used code, or cancelled (HTML)', contentType: 'text/html' },
      502: { description: 'GHL refused (HTML)', contentType: 'text/html' },
      503: { description: 'The installer (sync) is not running (HTML)', contentType: 'text/html' },
      504: { description: 'GHL took too long (HTML)', contentType: 'text/html' },
    },
  },
  {
    method: 'post',
    path: '/webhooks/ghl',
    summary: 'GHL marketplace webhooks (INSTALL, UNINSTALL; others acknowledged). Signed; replays refused',
    tag: 'webhooks',
    security: 'signature',
    body: z.object({ type: z.string() }).loose(),
    responses: {
      200: { description: 'Handled', schema: webhookAcceptedSchema },
      400: err('`invalid_json`, `invalid_request`, `webhook_too_old`'),
      401: err('`missing_signature`, `invalid_signature`, `webhook_signature_unverifiable`'),
      409: err('`webhook_replayed`'),
      413: err('`payload_too_large` (over 256 KB)'),
      429: err('`retry_later`: GHL retries (the only status it retries)'),
    },
  },
  {
    method: 'post',
    path: '/webhooks/ghl/provider',
    summary: 'Conversation-provider outbound messages (GHL → WhatsApp): queued on the bus, answered at once',
    tag: 'webhooks',
    security: 'signature',
    body: providerOutboundSchema,
    responses: {
      200: { description: 'Queued (or a duplicate of a queued one)', schema: webhookAcceptedSchema },
      400: err('`invalid_json`, `invalid_request`, `webhook_too_old`'),
      401: err('`missing_signature`, `invalid_signature`'),
      404: err('`location_not_installed`'),
      429: err('`retry_later`: the bus is down; GHL retries'),
    },
  },
  {
    method: 'get',
    path: '/app',
    summary:
      'The dashboard page GHL embeds (`?locationId=…`); signs in with GHL, or `?devToken=` in development',
    tag: 'dashboard',
    security: 'public',
    responses: { 200: { description: 'HTML', contentType: 'text/html' } },
  },
  {
    method: 'get',
    path: '/app/app.js',
    summary: "The dashboard's script",
    tag: 'dashboard',
    security: 'public',
    responses: { 200: { description: 'JavaScript', contentType: 'application/javascript' } },
  },
  {
    method: 'get',
    path: '/app/operator',
    summary:
      "The operators' view (`?locationId=…`): timeline and dead letters of a location, with an API key",
    tag: 'operators',
    security: 'public',
    responses: { 200: { description: 'HTML', contentType: 'text/html' } },
  },
  {
    method: 'get',
    path: '/app/operator.js',
    summary: "The operators' view's script",
    tag: 'operators',
    security: 'public',
    responses: { 200: { description: 'JavaScript', contentType: 'application/javascript' } },
  },
  {
    method: 'get',
    path: '/app/app.css',
    summary: "The dashboard's styles",
    tag: 'dashboard',
    security: 'public',
    responses: { 200: { description: 'CSS', contentType: 'text/css' } },
  },
  {
    method: 'get',
    path: '/docs',
    summary: 'This document',
    tag: 'meta',
    security: 'public',
    responses: { 200: { description: 'OpenAPI 3.1', contentType: 'application/json' } },
  },
  ...(['/health/live', '/health/ready', '/metrics'] as const).map((path): OperationSpec => ({
    method: 'get',
    path,
    summary: path === '/metrics' ? 'Prometheus metrics (bearer token when configured)' : 'Probe',
    tag: 'meta',
    security: 'public',
    responses: { 200: { description: 'OK' }, 503: { description: 'Failing' } },
  })),
];

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
}

function parameters(op: OperationSpec) {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', op.params],
    ['query', op.query],
  ] as const) {
    if (!schema) continue;
    const json = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, prop] of Object.entries(json.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (json.required ?? []).includes(name),
        schema: prop,
      });
    }
  }
  return out;
}

/** The OpenAPI 3.1 document, built from the same zod schemas the endpoints validate with. */
export function buildOpenApiDocument(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const path = op.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const responses = Object.fromEntries(
      Object.entries(op.responses).map(([status, r]) => [
        status,
        {
          description: r.description,
          ...(r.schema
            ? {
                content: {
                  [r.contentType ?? 'application/json']: { schema: jsonSchema(r.schema, 'output') },
                },
              }
            : r.contentType
              ? { content: { [r.contentType]: {} } }
              : {}),
        },
      ]),
    );
    paths[path] ??= {};
    paths[path][op.method] = {
      summary: op.summary,
      tags: [op.tag],
      operationId: `${op.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      security:
        op.security === 'credential' || op.security === 'admin' || op.security === 'operator'
          ? [{ bearer: [] }]
          : op.security === 'signature'
            ? [{ ghlSignature: [] }]
            : [],
      parameters: parameters(op),
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(op.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'WhatsApp ⇄ GoHighLevel bridge: api',
      version: '1',
      description:
        'The HTTP edge. Errors are `{ code, message, correlationId }`; the correlation id is also in `x-correlation-id`. ' +
        'Credentials: `Authorization: Bearer <API key>` (admin or one location) or a dashboard session from `POST /api/session`.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key (`wak_…`) or a dashboard session (`dsh1.…`)',
        },
        ghlSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'x-ghl-signature',
          description: 'Ed25519 over the raw body (legacy `x-wh-signature`: RSA-SHA256)',
        },
      },
    },
    paths,
  };
}
