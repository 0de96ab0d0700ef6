import fc from 'fast-check';
import { encryptUserContext } from '@app/ghl-sandbox-client';
import { randomUUID, sign } from 'node:crypto';
import { checkProperty, propertyTimeoutMs, Reached } from './fuzz-parameters';
import { FuzzSystem } from './fuzz-system';
import {
  bodyText,
  contentTypes,
  hostileJson,
  hostileString,
  mutated,
  unparseableBody,
  type BodyShape,
} from './hostile-input';
import { percentEncode, rawRequest, type RawAnswer, type RawRequest } from './raw-http';

/** The location the requests are about; its WhatsApp session is linked and open. */
const TARGET = 'fuzzTarget0000000001';
/** Installed, with a stored link, never the subject of an allowed request: must stay byte-identical. */
const VICTIM = 'fuzzVictim0000000001';
/** Installed, not linked: where the generated session actions (connect, stop, logout…) go. */
const SPARE = 'fuzzSpare00000000001';
/** The location the generated webhooks name (INSTALL, UNINSTALL, provider messages). */
const HOOKS = 'fuzzHooks00000000001';
const HOOKS_COMPANY = 'fuzzHooksCompany0001';

/** 5xx answers that are a clear, retryable statement about the system's state, not a failure. */
const ALLOWED_5XX_CODES = [
  'service_unavailable',
  'bus_unavailable',
  'capacity_exhausted',
  'timeout',
  'upstream_error',
];

/** Valid inputs the generators take apart; an operation missing here is fuzzed from `{}`. */
const VALID_BODIES: Record<string, () => Record<string, unknown>> = {
  'POST /api/locations/{locationId}/whatsapp/pairing-code': () => ({ phone: '+15550000001' }),
  'POST /api/locations/{locationId}/whatsapp/messages': () => ({
    to: '+15550009999',
    text: 'hello from the fuzzer',
    clientMessageId: `fuzz-${Math.random().toString(36).slice(2)}`,
  }),
  'POST /api/session': () => ({ payload: 'U2FsdGVkX19BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=' }),
  'POST /api/dev/session': () => ({ locationId: TARGET }),
  'POST /api/keys': () => ({ scope: 'location', locationId: TARGET, label: 'fuzz' }),
};
const VALID_QUERIES: Record<string, Record<string, string>> = {
  'GET /api/locations': { limit: '5', includeUninstalled: 'true', after: 'a' },
  'GET /api/locations/{locationId}/whatsapp/qr': { format: 'svg' },
  'GET /api/locations/{locationId}/whatsapp/events': { limit: '3' },
  'GET /api/locations/{locationId}/events': {
    since: '2026-01-01T00:00:00Z',
    types: 'session.qr,message.inbound,dead_letter',
    limit: '20',
  },
  'GET /api/locations/{locationId}/dead-letters': { limit: '5', cursor: '1' },
  'GET /api/dead-letters': { limit: '5', location: TARGET },
  'GET /oauth/callback': { code: 'x', state: 'y' },
  'GET /app': { locationId: TARGET },
};

interface Operation {
  key: string;
  method: string;
  path: string;
  security: 'credential' | 'signature' | 'public';
  query: string[];
  body: boolean;
}

type CredentialName =
  | 'admin'
  | 'targetKey'
  | 'victimKey'
  | 'targetDashboard'
  | 'revoked'
  | 'none'
  | 'forgedDashboard'
  | 'hostile';

/**
 * Every endpoint of the api, fuzzed over real HTTP against the built apps as processes (api, sync, a
 * session worker) with NATS, PostgreSQL and both sandboxes. Whatever is sent, the answer is a clear
 * error (4xx with `{code, message, correlationId}`, or a documented retryable 5xx), never a 500, a
 * stack trace or a secret; a refused request writes nothing; the other location is never touched; no
 * process dies. The endpoint list is read from the api's own OpenAPI document, so a new endpoint is
 * fuzzed without touching this file.
 */
describe('bad input over HTTP: every api endpoint, fuzzed', () => {
  let system: FuzzSystem;
  let operations: Operation[];
  const credentials = {} as Record<Exclude<CredentialName, 'hostile'>, string | undefined>;
  let victimBefore: string;

  beforeAll(async () => {
    system = await FuzzSystem.start({ databasePrefix: 'fuzz_http_test', worker: true });
    for (const id of [TARGET, VICTIM, SPARE]) await system.install(id);
    await system.install(HOOKS, HOOKS_COMPANY);
    await system.cluster!.link(TARGET, '15550000777');
    await system.storeStoppedLink(VICTIM);
    credentials.admin = system.secrets.ADMIN_API_KEY;
    credentials.targetKey = await system.locationKey(TARGET);
    credentials.victimKey = await system.locationKey(VICTIM);
    credentials.targetDashboard = await system.dashboardSession(TARGET);
    credentials.revoked = await system.revokedKey(TARGET);
    credentials.none = undefined;
    credentials.forgedDashboard = forgeDashboardToken(credentials.targetDashboard, VICTIM);
    victimBefore = await system.locationFingerprint(VICTIM);
    operations = await documentedOperations(system.apiUrl);
  }, 120_000);

  afterEach(async () => {
    await system?.assertHealthy();
  });

  /** Answers seen, by route and status. */
  const reached = new Reached();

  afterAll(async () => {
    reached.print();
    await system?.stop();
  }, 60_000);

  /** Sends one request and checks everything every answer must satisfy. */
  async function send(req: RawRequest): Promise<RawAnswer | null> {
    const before = await system.fingerprint('api');
    const answer = await rawRequest(system.apiUrl, req);
    // Node's HTTP parser refuses a malformed request line or header (e.g. a DEL in a raw path) before
    // the api sees it: a bare 400 that closes the connection. Nothing of ours ran.
    if (answer === null || isParserRefusal(answer)) return null;
    const route = `${req.method} ${req.path.split('?')[0].replace(/^\/api\/locations\/[^/]+/, '/api/locations/:id')}`;
    const code = (answer.json as { code?: string } | undefined)?.code ?? '';
    const key = `${route.slice(0, 70)} → ${answer.status} ${code}`;
    reached.add(key);
    // Minting endpoints answer with credentials (a dashboard session, a new key): those may appear in a
    // success, never in an error; the system's own secrets appear nowhere.
    const secrets =
      answer.status >= 400
        ? [...Object.values(system.secrets), ...secretCredentials()]
        : Object.values(system.secrets);
    expectClearAnswer(req, answer, secrets);
    if (answer.status >= 400) {
      expect({
        refused: `${req.method} ${req.path} → ${answer.status}`,
        state: await system.fingerprint('api'),
      }).toEqual({
        refused: `${req.method} ${req.path} → ${answer.status}`,
        state: before,
      });
    }
    return answer;
  }

  function secretCredentials(): string[] {
    return [credentials.targetKey, credentials.victimKey, credentials.targetDashboard].filter(
      (c): c is string => c !== undefined,
    );
  }

  const asCredential = (name: Exclude<CredentialName, 'hostile'>) => ({
    name,
    header: credentials[name] === undefined ? undefined : `Bearer ${credentials[name]}`,
  });
  /** Credentials that may act on the target (admin-only routes refuse the location ones with 403). */
  const goodCredential = fc
    .constantFrom<Exclude<CredentialName, 'hostile'>>('admin', 'targetKey', 'targetDashboard')
    .map(asCredential);
  /** Credentials that may not act on the target: another location's, revoked, missing, forged, garbage. */
  const badCredential: fc.Arbitrary<{ name: CredentialName; header: string | undefined }> = fc.oneof(
    fc
      .constantFrom<Exclude<CredentialName, 'hostile'>>('victimKey', 'revoked', 'none', 'forgedDashboard')
      .map(asCredential),
    fc
      .oneof(
        hostileString.map((s) => `Bearer ${s}`),
        hostileString,
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Basic YWRtaW46YWRtaW4=',
          'bearer wak_x',
          `Bearer ${'A'.repeat(3000)}`,
        ),
        fc.constant(0).map(() => `Bearer ${credentials.admin} ${credentials.admin}`),
        fc.constant(0).map(() => `Bearer ${credentials.admin}\u0000`),
        fc.constant(0).map(() => `Bearer ${credentials.targetDashboard}x`),
      )
      .map((header) => ({ name: 'hostile' as const, header: latin1(header) })),
  );

  const badLocation: fc.Arbitrary<string> = fc.oneof(
    fc.constantFrom(
      VICTIM,
      'unknownLocation00001',
      TARGET.toLowerCase(),
      `${TARGET} `,
      `${TARGET}/..`,
      `../${TARGET}`,
    ),
    hostileString,
  );

  /** A path parameter as it goes on the wire: usually percent-encoded, sometimes raw or twice encoded. */
  const onTheWire = (value: string) =>
    fc
      .constantFrom('encoded', 'encoded', 'raw', 'double')
      .map((how) =>
        how === 'raw' ? value : how === 'double' ? percentEncode(percentEncode(value)) : percentEncode(value),
      );

  function badQuery(op: Operation): fc.Arbitrary<string> {
    const valid = VALID_QUERIES[`${op.method} ${op.path}`] ?? {};
    const names = [...op.query, '__proto__', 'constructor', 'limit[]', 'a[__proto__][polluted]'];
    return fc.oneof(
      mutated(valid).map((q) => `?${toQuery(q)}`),
      fc
        .array(fc.tuple(fc.oneof(fc.constantFrom(...names), hostileString), hostileString), {
          minLength: 1,
          maxLength: 5,
        })
        .map((pairs) => `?${pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&')}`),
      fc.constantFrom('?%', '?limit=1&limit=2', '?=&&=', '?limit=%00', '?' + 'a=1&'.repeat(2_000)),
    );
  }

  function badBody(op: Operation): fc.Arbitrary<BodyShape> {
    const sample = VALID_BODIES[`${op.method} ${op.path}`] ?? (() => ({}));
    return fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .constant(0)
          .chain(() => mutated(sample()))
          .map((value): BodyShape => ({ kind: 'json', value })),
      },
      { weight: 1, arbitrary: hostileJson.map((value): BodyShape => ({ kind: 'json', value })) },
      { weight: 1, arbitrary: unparseableBody },
    );
  }

  /** What a correct client sends: the request every fault below is a departure from. */
  function validParts(op: Operation) {
    const query = VALID_QUERIES[`${op.method} ${op.path}`];
    const sample = VALID_BODIES[`${op.method} ${op.path}`];
    return {
      // Session lifecycle actions go to a spare location, so the target's link survives for sends.
      location: /\/(connect|restart|stop|logout)$/.test(op.path) ? SPARE : TARGET,
      query: query ? `?${toQuery(query)}` : '',
      body: op.body ? ({ kind: 'json', value: (sample ?? (() => ({})))() } as BodyShape) : undefined,
    };
  }

  type Fault = 'credential' | 'location' | 'keyId' | 'query' | 'body' | 'contentType' | 'method';

  it(
    'answers every documented endpoint with a clear error for bad input, and writes nothing when it refuses',
    async () => {
      // Each request is a valid one with one or two things wrong, so every layer behind the first
      // check is reached too.
      const request = fc
        .constantFrom(...operations)
        .chain((op) =>
          fc.record({
            op: fc.constant(op),
            faults: fc.uniqueArray(
              fc.constantFrom<Fault>(
                'credential',
                'location',
                'keyId',
                'query',
                'body',
                'contentType',
                'method',
              ),
              {
                minLength: 1,
                maxLength: 2,
              },
            ),
            goodCredential,
            badCredential,
            location: badLocation.chain(onTheWire),
            keyId: fc.oneof(fc.uuid(), hostileString).chain(onTheWire),
            query: badQuery(op),
            body: badBody(op),
            contentType: contentTypes,
            method: fc.constantFrom(
              'GET',
              'POST',
              'PUT',
              'PATCH',
              'DELETE',
              'OPTIONS',
              'HEAD',
              'TRACE',
              'PROPFIND',
            ),
          }),
        )
        // The victim is only ever addressed by credentials that may not act on it (found by a long run:
        // "another location's key" is the victim's own key when the path names the victim).
        .filter((r) => {
          if (!r.faults.includes('location') || r.location !== VICTIM) return true;
          const credential = r.faults.includes('credential') ? r.badCredential : r.goodCredential;
          return credential.name !== 'admin' && credential.name !== 'victimKey';
        });
      await checkProperty(
        'every endpoint',
        150,
        fc.asyncProperty(request, async (r) => {
          const valid = validParts(r.op);
          const has = (fault: Fault) => r.faults.includes(fault);
          const credential = has('credential') ? r.badCredential : r.goodCredential;
          const location = has('location') ? r.location : valid.location;
          const body = has('body') ? r.body : valid.body;
          const path =
            r.op.path.replace('{locationId}', location).replace('{id}', r.keyId) +
            (has('query') ? r.query : valid.query);
          const answer = await send({
            method: has('method') ? r.method : r.op.method,
            path,
            headers: {
              authorization: credential.header,
              'content-type': body ? (has('contentType') ? r.contentType : 'application/json') : undefined,
            },
            body: body ? bodyText(body) : undefined,
          });
          if (!answer || !r.op.path.startsWith('/api/') || r.op.security !== 'credential') return;
          // Deny by default: no valid credential, no access (a body that does not parse, or a route that
          // does not exist, may be said first).
          if (has('credential') && credential.name !== 'victimKey') {
            expect([400, 401, 404, 413, 415]).toContain(answer.status);
          }
          // One location never reaches another's data (a body that does not parse may be said first).
          if (credential.name === 'victimKey' && r.op.path.includes('{locationId}') && location !== VICTIM) {
            expect([400, 403, 404, 413, 415]).toContain(answer.status);
          }
        }),
      );
    },
    propertyTimeoutMs(150, 60_000),
  );

  it(
    'refuses bodies that break the parser (malformed, over the limit, deep, polluting, wrong type) with 4xx',
    async () => {
      const bodyRoutes = operations.filter((op) => op.body);
      const request = fc.record({
        op: fc.constantFrom(...bodyRoutes),
        body: fc.oneof(
          unparseableBody,
          // Over the api's 64 KB, and over the webhooks' 256 KB.
          fc.integer({ min: 64 * 1024 + 1, max: 400 * 1024 }).map((size): BodyShape => ({
            kind: 'text',
            text: JSON.stringify({ type: 'INSTALL', text: 'x'.repeat(size) }),
          })),
        ),
        contentType: fc.oneof(fc.constant('application/json'), contentTypes),
        chunked: fc.boolean(),
      });
      await checkProperty(
        'parser-level bodies',
        40,
        fc.asyncProperty(request, async (r) => {
          const body = bodyText(r.body);
          const answer = await send({
            method: r.op.method,
            path: r.op.path.replace('{locationId}', TARGET),
            headers: {
              authorization: `Bearer ${credentials.admin}`,
              'x-ghl-signature': sign(null, body, system.ghl.context.keys.ed25519Private).toString('base64'),
              'content-type': r.contentType,
              // Without a declared length the body streams in chunks: the size limit must still hold.
              'transfer-encoding': r.chunked ? 'chunked' : undefined,
            },
            body,
          });
          if (answer === null) return;
          expect(answer.status).toBeLessThan(500);
          const limit = r.op.path.startsWith('/webhooks/') ? 256 * 1024 : 64 * 1024;
          // Over the limit: refused as too large, or (api) as not JSON before it is read.
          if (body.length > limit) expect([413, 415]).toContain(answer.status);
        }),
      );
    },
    propertyTimeoutMs(40, 30_000),
  );

  it(
    'checks GHL webhooks: every bad or missing signature is 401, every hostile payload a clear 4xx',
    async () => {
      const keys = system.ghl.context.keys;
      const samples = {
        install: () => ({
          type: 'INSTALL',
          appId: 'sandbox',
          installType: 'Location',
          locationId: HOOKS,
          companyId: HOOKS_COMPANY,
          userId: 'fuzzUser',
          timestamp: new Date().toISOString(),
          webhookId: randomUUID(),
        }),
        uninstall: () => ({
          type: 'UNINSTALL',
          appId: 'sandbox',
          locationId: HOOKS,
          companyId: HOOKS_COMPANY,
          timestamp: new Date().toISOString(),
          webhookId: randomUUID(),
        }),
        provider: () => ({
          locationId: HOOKS,
          messageId: `ghlMsg${randomUUID()}`,
          contactId: 'fuzzContact',
          type: 'SMS',
          phone: '+15550001234',
          message: 'hi',
          attachments: ['https://example.com/a%ZZ.pdf'],
          userId: 'fuzzUser',
        }),
      };
      const request = fc.constantFrom(...(Object.keys(samples) as (keyof typeof samples)[])).chain((kind) =>
        fc.record({
          // Now and then a payload goes to the other webhook's address.
          path: fc.oneof(
            {
              weight: 5,
              arbitrary: fc.constant(kind === 'provider' ? '/webhooks/ghl/provider' : '/webhooks/ghl'),
            },
            { weight: 1, arbitrary: fc.constantFrom('/webhooks/ghl', '/webhooks/ghl/provider') },
          ),
          body: fc.oneof(
            {
              weight: 1,
              arbitrary: fc.constant(0).map((): BodyShape => ({ kind: 'json', value: samples[kind]() })),
            },
            {
              weight: 3,
              arbitrary: fc
                .constant(0)
                .chain(() => mutated(samples[kind]()))
                .map((value): BodyShape => ({ kind: 'json', value })),
            },
            { weight: 1, arbitrary: hostileJson.map((value): BodyShape => ({ kind: 'json', value })) },
            { weight: 1, arbitrary: unparseableBody },
          ),
          signature: fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom('ed25519', 'rsa') },
            {
              weight: 3,
              arbitrary: fc.constantFrom('none', 'garbage', 'other-body', 'wrong-key-type', 'huge'),
            },
          ),
          contentType: fc.oneof(
            { weight: 4, arbitrary: fc.constant('application/json') },
            { weight: 1, arbitrary: contentTypes },
          ),
        }),
      );
      await checkProperty(
        'webhooks',
        60,
        fc.asyncProperty(request, async (r) => {
          const body = bodyText(r.body);
          const signed = (what: Buffer) => sign(null, what, keys.ed25519Private).toString('base64');
          const headers: Record<string, string | undefined> = { 'content-type': r.contentType };
          switch (r.signature) {
            case 'ed25519':
              headers['x-ghl-signature'] = signed(body);
              break;
            case 'rsa':
              headers['x-wh-signature'] = sign('sha256', body, keys.rsaPrivate).toString('base64');
              break;
            case 'garbage':
              headers['x-ghl-signature'] = 'not base64 at all!!';
              break;
            case 'other-body':
              headers['x-ghl-signature'] = signed(Buffer.from('{"type":"INSTALL"}'));
              break;
            case 'wrong-key-type':
              headers['x-wh-signature'] = signed(body);
              break;
            case 'huge':
              headers['x-ghl-signature'] = 'A'.repeat(8_000);
              break;
            case 'none':
              break;
          }
          const answer = await send({ method: 'POST', path: r.path, headers, body });
          if (!answer) return;
          // Unsigned or badly signed: refused as such, unless refused before the signature is read
          // (empty or oversized body, a charset the parser cannot read).
          if (r.signature !== 'ed25519' && r.signature !== 'rsa') {
            expect([400, 401, 413, 415]).toContain(answer.status);
          }
          expect(answer.status).toBeLessThan(500);
        }),
      );
    },
    propertyTimeoutMs(60, 40_000),
  );

  it(
    "mints a dashboard session only from GHL's genuine user context, and only for an installed location",
    async () => {
      const installed = [TARGET, VICTIM, SPARE, HOOKS];
      const context = () => ({
        userId: 'fuzzUser',
        companyId: 'fuzzCompany',
        role: 'admin',
        type: 'location',
        userName: 'Fuzz User',
        email: 'fuzz@example.com',
        activeLocation: TARGET,
      });
      const payload = fc.oneof(
        // Encrypted with the app's shared secret: only its content is hostile.
        fc
          .constant(0)
          .chain(() => mutated(context()))
          .map((value) => ({
            genuine: true,
            payload: encryptUserContext(asObject(value), system.secrets.GHL_APP_SHARED_SECRET),
          })),
        // Right shape, wrong secret; or no encryption at all.
        fc
          .constant(0)
          .map(() => ({ genuine: false, payload: encryptUserContext(context(), 'another-apps-secret') })),
        hostileString.map((text) => ({ genuine: false, payload: text })),
      );
      await checkProperty(
        'user contexts',
        40,
        fc.asyncProperty(payload, async ({ genuine, payload: p }) => {
          const answer = await send({
            method: 'POST',
            path: '/api/session',
            headers: { 'content-type': 'application/json' },
            body: Buffer.from(JSON.stringify({ payload: p })),
          });
          if (!answer) return;
          expect([201, 400, 401, 403]).toContain(answer.status);
          if (answer.status !== 201) return;
          const minted = answer.json as { locationId: string; token: string };
          expect(genuine).toBe(true);
          expect(installed).toContain(minted.locationId);
          // The session opens that location and no other.
          const other = minted.locationId === TARGET ? VICTIM : TARGET;
          const own = await send({
            method: 'GET',
            path: `/api/locations/${minted.locationId}/whatsapp/status`,
            headers: { authorization: `Bearer ${minted.token}` },
          });
          const foreign = await send({
            method: 'GET',
            path: `/api/locations/${other}/whatsapp/status`,
            headers: { authorization: `Bearer ${minted.token}` },
          });
          expect([own?.status, foreign?.status]).toEqual([200, 403]);
        }),
      );
    },
    propertyTimeoutMs(40, 30_000),
  );

  it(
    'shows a plain page for any OAuth callback query, installs nothing and echoes no markup',
    async () => {
      const issued = (await system.ghlAdmin.tokens()).length;
      const query = fc
        .array(
          fc.tuple(
            fc.oneof(fc.constantFrom('code', 'error', 'error_description', 'state'), hostileString),
            hostileString,
          ),
          { minLength: 1, maxLength: 4 },
        )
        .map((pairs) => pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&'));
      await checkProperty(
        'oauth callback',
        40,
        fc.asyncProperty(query, async (q) => {
          const answer = await send({ method: 'GET', path: `/oauth/callback?${q}` });
          if (!answer) return;
          expect(answer.status).toBeLessThan(500);
          expect(String(answer.headers['content-type'])).toContain('text/html');
          expect(answer.headers['content-security-policy']).toContain("default-src 'none'");
          expect(markupProblems(answer.text)).toEqual([]);
        }),
      );
      expect((await system.ghlAdmin.tokens()).length).toBe(issued);
    },
    propertyTimeoutMs(40, 30_000),
  );

  it('left the other location untouched, counted no 500 and logged no secret', async () => {
    expect(await system.locationFingerprint(VICTIM)).toBe(victimBefore);
    const metrics = await (await fetch(`${system.apiUrl}/metrics`)).text();
    expect(
      metrics
        .split('\n')
        .filter((l) => l.startsWith('api_http_requests_total{') && l.includes('status="500"')),
    ).toEqual([]);
    expect(system.leakedSecretsInLogs(secretCredentials())).toEqual([]);
  });
});

/** Node's own answer to bytes it cannot parse as HTTP (`server.on('clientError')` default). */
function isParserRefusal(answer: RawAnswer): boolean {
  return (
    answer.status === 400 &&
    answer.text === '' &&
    Object.keys(answer.headers).join(',') === 'connection' &&
    answer.headers.connection === 'close'
  );
}

/** What every answer must be, whatever was asked. */
function expectClearAnswer(req: RawRequest, answer: RawAnswer, secrets: string[]): void {
  const what = `${req.method} ${req.path.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 300)}`;
  if (answer.status >= 500) {
    const code = String((answer.json as { code?: unknown } | undefined)?.code);
    expect({ what, allowed: ALLOWED_5XX_CODES.includes(code) }).toEqual({ what, allowed: true });
  }
  expect({ what, stackTrace: /\n\s+at .+:\d+:\d+|node_modules|\/dist\//.test(answer.text) }).toEqual({
    what,
    stackTrace: false,
  });
  expect({ what, leaked: secrets.filter((s) => answer.text.includes(s)) }).toEqual({ what, leaked: [] });
  const type = String(answer.headers['content-type'] ?? '');
  if (req.method === 'HEAD') return; // the headers of a GET, without its body
  if (answer.status >= 400 && type.includes('json')) {
    const body = answer.json as { code?: unknown; message?: unknown; correlationId?: unknown } | undefined;
    expect({ what, badJson: answer.badJson }).toEqual({ what, badJson: false });
    expect({ what, body }).toEqual({
      what,
      body: expect.objectContaining({
        code: expect.stringMatching(/^[a-z_]+$/),
        message: expect.any(String),
        correlationId: answer.headers['x-correlation-id'],
      }),
    });
  } else if (answer.status >= 400 && !type.includes('html')) {
    throw new Error(`an error answer that is neither JSON nor a page: ${what} (${type})`);
  }
}

/**
 * What in an HTML page could run or load something: a tag outside the pages' plain vocabulary, an event
 * handler attribute, or a link that is not relative. Escaped input shows up as text and passes.
 */
function markupProblems(html: string): string[] {
  const allowed = new Set([
    'html',
    'head',
    'meta',
    'title',
    'style',
    'body',
    'main',
    'div',
    'h1',
    'h2',
    'p',
    'a',
    'code',
    'ul',
    'li',
    'span',
    'strong',
    'em',
    'br',
  ]);
  const problems: string[] = [];
  for (const [tag, name, attributes] of html.matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)) {
    if (!allowed.has(name.toLowerCase())) problems.push(`tag ${tag}`);
    if (/\son\w+\s*=/i.test(attributes)) problems.push(`event handler in ${tag}`);
    for (const [, href] of attributes.matchAll(/href\s*=\s*"([^"]*)"/gi)) {
      if (!/^[/#]/.test(href) || href.startsWith('//')) problems.push(`link ${href}`);
    }
  }
  return problems;
}

/** The api's operations as its OpenAPI document lists them. */
async function documentedOperations(apiUrl: string): Promise<Operation[]> {
  const doc = (await (await fetch(`${apiUrl}/docs`)).json()) as {
    paths: Record<
      string,
      Record<
        string,
        {
          security?: Record<string, unknown>[];
          parameters?: { name: string; in: string }[];
          requestBody?: unknown;
        }
      >
    >;
  };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): Operation => {
      const scheme = Object.keys(op.security?.[0] ?? {})[0];
      return {
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        security: scheme === 'bearer' ? 'credential' : scheme === 'ghlSignature' ? 'signature' : 'public',
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        body: op.requestBody !== undefined,
      };
    }),
  );
}

/** What `encryptUserContext` takes: a mutated context that is no longer an object is wrapped. */
function asObject(value: unknown): object {
  return typeof value === 'object' && value !== null ? value : { value };
}

/** A dashboard token for another location, signed with a made-up key. */
function forgeDashboardToken(real: string | undefined, locationId: string): string {
  const [prefix, claims] = (real ?? 'dsh1.e30.x').split('.');
  const parsed = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...parsed, loc: locationId })).toString('base64url');
  return `${prefix}.${forged}.${Buffer.from('forged-signature-of-32-bytes-xx').toString('base64url')}`;
}

function toQuery(value: unknown): string {
  if (typeof value !== 'object' || value === null) return percentEncode(JSON.stringify(value) ?? '');
  return Object.entries(value as Record<string, unknown>)
    .map(
      ([k, v]) =>
        `${percentEncode(k)}=${percentEncode(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`,
    )
    .join('&');
}

/** Header values travel as latin1; anything else is replaced, as a client would have to. */
function latin1(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}
