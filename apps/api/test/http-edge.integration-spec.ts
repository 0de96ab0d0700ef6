import type { Server } from 'node:http';
import { OPERATIONS } from '../src/openapi/openapi.document';
import { ADMIN_KEY, ApiHarness, type Json } from './api-harness';
import { SseReader } from './sse-reader';

interface ExpressLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** What every answer carries: security headers, CORS for GHL only, size limits, correlation ids, docs, metrics. */
describe('api HTTP edge', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await ApiHarness.start({ GHL_WHITELABEL_ORIGINS: 'https://crm.myagency.com' });
    await api.install('locEdge01');
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
  });

  it('sends security headers on API answers and forbids framing them', async () => {
    const res = await api.request('GET', '/api/locations/locEdge01/whatsapp/status', { token: ADMIN_KEY });
    expect(
      Object.fromEntries(
        ['x-content-type-options', 'referrer-policy', 'x-frame-options', 'content-security-policy'].map(
          (h) => [h, res.headers.get(h)],
        ),
      ),
    ).toEqual({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    });
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('lets only GHL origins (and configured white-label ones) frame the dashboard, with a strict script policy', async () => {
    const res = await api.request('GET', '/app?locationId=locEdge01');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBeNull();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(
      "frame-ancestors 'self' https://app.gohighlevel.com https://*.gohighlevel.com https://*.leadconnectorhq.com https://crm.myagency.com",
    );
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.text).toContain('<script src="/app/app.js" defer></script>');
    expect(res.text).not.toMatch(/<script>[^<]/);
    const js = await fetch(`${api.url}/app/app.js`);
    expect(js.headers.get('content-type')).toContain('javascript');
    const etag = js.headers.get('etag') ?? '';
    expect((await fetch(`${api.url}/app/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${api.url}/app/app.css`)).headers.get('content-type')).toContain('text/css');
  });

  it('escapes whatever the page is opened with', async () => {
    const res = await api.request('GET', '/app?locationId=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('<script>alert(1)');
  });

  it('answers CORS preflights for GHL origins only, and echoes only those origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${api.url}/api/locations/locEdge01/whatsapp/status`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
    for (const origin of [
      'https://app.gohighlevel.com',
      'https://x.leadconnectorhq.com',
      'https://crm.myagency.com',
    ]) {
      const ok = await preflight(origin);
      expect([ok.status, ok.headers.get('access-control-allow-origin')]).toEqual([204, origin]);
      expect(ok.headers.get('access-control-allow-headers')).toContain('authorization');
    }
    const evil = await preflight('https://evil.example.com');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${api.url}/api/locations/locEdge01/whatsapp/status`, {
      headers: { origin: 'https://evil.example.com', authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await fetch(`${api.url}/api/locations/locEdge01/whatsapp/status`, {
      headers: { origin: 'https://app.gohighlevel.com', authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.gohighlevel.com');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('x-correlation-id');
  });

  it('refuses JSON bodies over 64 KB with 413 and the usual error shape', async () => {
    const res = await api.request('POST', '/api/locations/locEdge01/whatsapp/messages', {
      token: ADMIN_KEY,
      body: { to: '+15550000001', text: 'x'.repeat(70 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'payload_too_large' });
    expect(res.body.correlationId).toBe(res.headers.get('x-correlation-id'));
  });

  it('refuses a body that is not JSON with 415 instead of calling it missing, and takes no body at all', async () => {
    // Found by the bad-input suite (test/fuzz): a form body reached the handler as "invalid body: … required".
    const form = await api.request('POST', '/api/locations/locEdge01/whatsapp/messages', {
      token: ADMIN_KEY,
      raw: 'to=%2B15550000001&text=hi',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.body).toMatchObject({
      code: 'unsupported_media_type',
      message: expect.stringContaining('application/json'),
      correlationId: form.headers.get('x-correlation-id'),
    });
    const json = await api.request('POST', '/api/locations/locEdge01/whatsapp/messages', {
      token: ADMIN_KEY,
      raw: '{"to":"+15550000001"}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(json.body).toMatchObject({ code: 'invalid_request' });
    const none = await api.request('POST', '/api/locations/locEdge01/whatsapp/connect', { token: ADMIN_KEY });
    expect(none.status).not.toBe(415);
  });

  it("keeps a caller's sane correlation id, replaces an unsafe one, and puts it in error bodies", async () => {
    const kept = await api.request('GET', '/api/locations/locNope/whatsapp/status', {
      token: ADMIN_KEY,
      headers: { 'x-correlation-id': 'support-ticket-42' },
    });
    expect(kept.headers.get('x-correlation-id')).toBe('support-ticket-42');
    expect(kept.body.correlationId).toBe('support-ticket-42');
    const replaced = await api.request('GET', '/nowhere', {
      headers: { 'x-correlation-id': 'bad id <script>' },
    });
    expect(replaced.status).toBe(404);
    expect(replaced.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.body).toMatchObject({
      code: 'not_found',
      correlationId: replaced.headers.get('x-correlation-id'),
    });
  });

  it('documents every route it serves in the OpenAPI document at /docs, and nothing it does not serve', async () => {
    const docs = await api.request<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
      'GET',
      '/docs',
    );
    expect(docs.body.openapi).toBe('3.1.0');
    const documented = Object.entries(docs.body.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const server = api.app.getHttpAdapter().getInstance() as { router: { stack: ExpressLayer[] } };
    const served = server.router.stack
      .filter((layer) => layer.route)
      .flatMap((layer) =>
        Object.keys(layer.route!.methods).map(
          (m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:([A-Za-z]+)/g, '{$1}')}`,
        ),
      );
    expect([...documented].sort()).toEqual([...new Set(served)].sort());
    expect(OPERATIONS.every((op) => Object.keys(op.responses).length > 0)).toBe(true);
    const status = docs.body.paths['/api/locations/{locationId}/whatsapp/status'].get as Record<string, Json>;
    expect(status.parameters).toEqual([
      expect.objectContaining({ name: 'locationId', in: 'path', required: true }),
    ]);
    expect(status.security).toEqual([{ bearer: [] }]);
  });

  it('counts requests by route pattern and status, never by raw path', async () => {
    await api.request('GET', '/api/locations/locEdge01/whatsapp/status', { token: ADMIN_KEY });
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(
      /api_http_requests_total\{method="GET",route="\/api\/locations\/:locationId\/whatsapp\/status",status="200"[^}]*\} \d+/,
    );
    expect(metrics).toContain('api_http_request_duration_seconds_bucket');
    expect(metrics).not.toContain('route="/api/locations/locEdge01');
  });

  it('adds HSTS when the public URL is https', async () => {
    const secure = await ApiHarness.start(
      { PUBLIC_BASE_URL: 'https://wa.example.com' },
      { nats: api.nats, db: api.db },
    );
    try {
      const res = await secure.request('GET', '/docs');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect((secure.app.getHttpServer() as Server).listening).toBe(true);
    } finally {
      await secure.stop(true);
    }
  });

  it('ends open dashboard streams at shutdown instead of hanging on them', async () => {
    const other = await ApiHarness.start({}, { nats: api.nats, db: api.db });
    const stream = await SseReader.open(`${other.url}/api/locations/locEdge01/events/stream`, ADMIN_KEY);
    await stream.next('snapshot');
    const started = Date.now();
    await other.stop(true);
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 20_000);
});
