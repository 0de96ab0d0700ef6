import type { z } from 'zod';
import {
  confirmPairingCodeRequestSchema,
  ensureContactRequestSchema,
  injectFaultRequestSchema,
  outboxQuerySchema,
  phoneSchema,
  scanQrRequestSchema,
  sendReceiptRequestSchema,
  sendTextRequestSchema,
  updateSettingsRequestSchema,
} from '@app/wa-sandbox-client';
import { SandboxError } from '../common/sandbox-error';
import { asPublicSnapshot, parseSnapshot } from '../snapshot/snapshot';
import type { WaSandbox } from '../wa-sandbox';

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'PATCH';
  path: RegExp;
  /** Reachable without the bearer token (health only). */
  public?: boolean;
  bodyLimit?: number;
  handle(context: RouteContext): unknown;
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new SandboxError('bad_request', issues);
  }
  return result.data;
}

const PHONE = '(?<phone>[0-9]+)';

/** The admin API (documented in apps/wa-sandbox/README.md). */
export function adminRoutes(sandbox: WaSandbox): AdminRoute[] {
  const accountOf = (params: Record<string, string>) => {
    const phone = parse(phoneSchema, params.phone);
    const account = sandbox.directory.get(phone);
    if (!account) throw new SandboxError('not_found', `no account ${phone}`);
    return account;
  };
  return [
    { method: 'GET', path: /^\/health$/, public: true, handle: () => ({ ok: true }) },
    { method: 'GET', path: /^\/trust$/, handle: () => ({ rootPublicKey: sandbox.rootPublicKey }) },
    { method: 'GET', path: /^\/settings$/, handle: () => sandbox.settings.current },
    {
      method: 'PATCH',
      path: /^\/settings$/,
      handle: ({ body }) => sandbox.settings.update(parse(updateSettingsRequestSchema, body)),
    },
    {
      method: 'POST',
      path: /^\/pairing\/scan$/,
      handle: ({ body }) => {
        const { qr, ...options } = parse(scanQrRequestSchema, body);
        return sandbox.pairing.scanQr(qr, options);
      },
    },
    {
      method: 'GET',
      path: /^\/pairing\/code-requests$/,
      handle: () => sandbox.pairing.pendingCodeRequests(),
    },
    {
      method: 'POST',
      path: /^\/pairing\/code\/confirm$/,
      handle: ({ body }) => {
        const { code, ...options } = parse(confirmPairingCodeRequestSchema, body);
        return sandbox.pairing.confirmPairingCode(code, options);
      },
    },
    {
      method: 'POST',
      path: /^\/contacts$/,
      handle: ({ body }) => {
        const { phone, name } = parse(ensureContactRequestSchema, body);
        return sandbox.accountSummary(sandbox.directory.ensure(phone, name).account);
      },
    },
    {
      method: 'GET',
      path: /^\/accounts$/,
      handle: () => [...sandbox.directory.all()].map((a) => sandbox.accountSummary(a)),
    },
    {
      method: 'GET',
      path: new RegExp(`^/accounts/${PHONE}$`),
      handle: ({ params }) => sandbox.accountSummary(accountOf(params)),
    },
    {
      method: 'GET',
      path: new RegExp(`^/accounts/${PHONE}/outbox$`),
      handle: ({ params, query }) => {
        const { after, limit } = parse(outboxQuerySchema, Object.fromEntries(query));
        return accountOf(params).outbox.page(after, limit);
      },
    },
    {
      method: 'POST',
      path: new RegExp(`^/accounts/${PHONE}/devices/(?<deviceId>[0-9]+)/unlink$`),
      handle: ({ params }) =>
        sandbox.faults.unlink(parse(phoneSchema, params.phone), Number(params.deviceId)),
    },
    {
      method: 'POST',
      path: /^\/messages\/text$/,
      handle: ({ body }) => sandbox.messaging.sendText(parse(sendTextRequestSchema, body)),
    },
    {
      method: 'POST',
      path: /^\/messages\/receipt$/,
      handle: ({ body }) => sandbox.messaging.sendReceipt(parse(sendReceiptRequestSchema, body)),
    },
    {
      method: 'POST',
      path: /^\/faults$/,
      handle: ({ body }) => sandbox.faults.inject(parse(injectFaultRequestSchema, body)),
    },
    {
      method: 'GET',
      path: /^\/stats$/,
      handle: ({ query }) =>
        sandbox.statsReport({ detail: query.get('detail') === '1', phone: query.get('phone') ?? undefined }),
    },
    { method: 'GET', path: /^\/snapshot$/, handle: () => asPublicSnapshot(sandbox.snapshot()) },
    {
      method: 'POST',
      path: /^\/snapshot\/restore$/,
      bodyLimit: 1024 * 1024 * 1024,
      handle: ({ body }) => {
        let content;
        try {
          content = parseSnapshot(body);
        } catch (error) {
          throw new SandboxError('bad_request', (error as Error).message);
        }
        sandbox.restore(content);
        return {
          accounts: sandbox.directory.size,
          devices: sandbox.directory.deviceCount(),
          rootPublicKey: sandbox.rootPublicKey,
        };
      },
    },
    {
      method: 'POST',
      path: /^\/reset$/,
      handle: () => {
        sandbox.reset();
        return { ok: true };
      },
    },
  ];
}
