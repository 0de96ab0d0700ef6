import { decryptUserContext, GhlSandboxAdminClient, GhlSandboxAdminError } from '@app/ghl-sandbox-client';
import { startGhlSandbox } from '../src/ghl-sandbox';
import { locationWithToken, startTestSandbox, type TestSandbox } from './sandbox-fixture';

describe('GHL sandbox: admin API and cross-cutting behaviour', () => {
  let t: TestSandbox;

  beforeAll(async () => {
    t = await startTestSandbox();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.admin.reset();
  });

  it('needs the admin token, except for health and the public keys', async () => {
    const anonymous = new GhlSandboxAdminClient(t.sandbox.url, 'wrong-token');
    await expect(anonymous.health()).resolves.toEqual({ status: 'ok' });
    const keys = await anonymous.keys();
    expect(keys.ed25519PublicKeyPem).toContain('BEGIN PUBLIC KEY');
    expect(keys.rsaPublicKeyPem).toContain('BEGIN PUBLIC KEY');
    const err = await anonymous.state().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GhlSandboxAdminError);
    expect((err as GhlSandboxAdminError).status).toBe(401);
  });

  it('records every GHL request with method, path, status and body, filterable', async () => {
    const { location, token } = await locationWithToken(t.admin);
    await t.api.upsertContact(token, { locationId: location.id, phone: '+15557770000' });
    await t.api.upsertContact(token, {});
    const all = await t.admin.requests();
    expect(all.map((r) => [r.method, r.path, r.status, r.operationId])).toEqual([
      ['POST', '/contacts/upsert', 200, 'upsert-contact'],
      ['POST', '/contacts/upsert', 422, 'upsert-contact'],
    ]);
    expect(all[0]).toMatchObject({
      body: { locationId: location.id, phone: '+15557770000' },
      locationId: location.id,
      headers: expect.objectContaining({ version: '2021-07-28' }),
      responseBody: expect.objectContaining({ new: true }),
    });
    expect(await t.admin.requests({ afterSeq: all[0].seq })).toHaveLength(1);
    expect(await t.admin.requests({ path: '/conversations/*' })).toHaveLength(0);
    await t.admin.clearRequests();
    expect(await t.admin.requests()).toEqual([]);
  });

  it('an unknown route is a 404 like GHL, and a spec operation without behaviour is a 501 after validation', async () => {
    const { token } = await locationWithToken(t.admin);
    const unknown = await t.api.request('GET', '/v1/contacts', { token });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ statusCode: 404, message: 'Cannot GET /v1/contacts', error: 'Not Found' });

    const notes = await t.api.request('GET', '/contacts/abc/notes', { token, version: '2021-07-28' });
    expect(notes.status).toBe(501);
    const noVersion = await t.api.request('GET', '/contacts/abc/notes', { token });
    expect(noVersion.status).toBe(401);
  });

  it('a company with several locations, and counts per location', async () => {
    const company = await t.admin.createCompany({
      name: 'Agency',
      locations: [{ name: 'A' }, { name: 'B' }],
    });
    expect(company.locations.map((l) => l.companyId)).toEqual([company.id, company.id]);
    const [a] = company.locations;
    const { access_token: token } = await t.admin.issueTokens({ locationId: a.id });
    await t.api.upsertContact(token, { locationId: a.id, phone: '+15550101010' });
    const counts = await t.admin.counts(a.id);
    expect(counts).toMatchObject({ contacts: 1, conversations: 0, duplicateAltIds: [], duplicatePhones: [] });
    expect(counts.requestsByOperation).toEqual({ 'upsert-contact': 1 });
    expect((await t.admin.counts(company.locations[1].id)).contacts).toBe(0);
  });

  it('produces the custom-page user context with the shared secret (§8)', async () => {
    const location = await t.admin.createLocation();
    const { encrypted, payload } = await t.admin.encryptUserContext({
      activeLocation: location.id,
      role: 'admin',
    });
    expect(encrypted.startsWith('U2FsdGVkX1')).toBe(true); // base64 of "Salted__"
    expect(decryptUserContext(encrypted, 'sandbox-shared-secret')).toEqual(payload);
    expect(payload).toMatchObject({
      activeLocation: location.id,
      companyId: location.companyId,
      type: 'location',
    });
    expect(() => decryptUserContext(encrypted, 'another-secret')).toThrow();
  });

  it('uploads attachments (multipart fileAttachment) and serves them back', async () => {
    const { location, token } = await locationWithToken(t.admin);
    const contact = await t.api.upsertContact(token, { locationId: location.id, phone: '+15552220000' });
    const contactId = (contact.body.contact as { id: string }).id;
    const conversation = await t.api.createConversation(token, { locationId: location.id, contactId });
    const conversationId = (conversation.body.conversation as { id: string }).id;
    const form = new FormData();
    form.set('conversationId', conversationId);
    form.set('contactId', contactId);
    form.set('locationId', location.id);
    form.set('fileAttachment', new Blob([Buffer.from('hello file')], { type: 'text/plain' }), 'note.txt');
    const res = await fetch(`${t.sandbox.url}/conversations/messages/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, version: '2021-04-15' },
      body: form,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { uploadedFiles: Record<string, string> };
    const url = body.uploadedFiles['note.txt'];
    expect(url).toMatch(/\/_sandbox\/files\//);
    expect(await (await fetch(url)).text()).toBe('hello file');

    const bad = new FormData();
    bad.set('conversationId', conversationId);
    bad.set('contactId', contactId);
    bad.set('locationId', location.id);
    bad.set('fileAttachment', new Blob([Buffer.from('x')]), 'virus.exe');
    const rejected = await fetch(`${t.sandbox.url}/conversations/messages/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, version: '2021-04-15' },
      body: bad,
    });
    expect(rejected.status).toBe(415);
    expect(await rejected.json()).toEqual({ status: 415, message: 'Failed to upload the files' });

    // Larger than the sandbox's upload limit (5 MB by default): 413 in the spec's error shape.
    const large = new FormData();
    large.set('conversationId', conversationId);
    large.set('contactId', contactId);
    large.set('locationId', location.id);
    large.set('fileAttachment', new Blob([Buffer.alloc(5 * 1024 * 1024 + 1)]), 'film.mp4');
    const tooLarge = await fetch(`${t.sandbox.url}/conversations/messages/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, version: '2021-04-15' },
      body: large,
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toEqual({ status: 413, message: 'Failed to upload the files' });

    // Validated against the OpenAPI operation like every other request: UploadFilesDto's required fields.
    const incomplete = new FormData();
    incomplete.set('contactId', contactId);
    incomplete.set('locationId', location.id);
    incomplete.set('fileAttachment', new Blob([Buffer.from('x')]), 'note.txt');
    const invalid = await fetch(`${t.sandbox.url}/conversations/messages/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, version: '2021-04-15' },
      body: incomplete,
    });
    expect(invalid.status).toBe(422);
    expect(JSON.stringify(await invalid.json())).toContain('conversationId');
  });

  it('reset clears state, faults and recorded requests', async () => {
    await t.admin.createLocation();
    await t.admin.addFault({ action: { kind: 'error', status: 500 } });
    await t.admin.reset();
    const state = await t.admin.state();
    expect(state.locations).toEqual([]);
    expect(await t.admin.faults()).toEqual([]);
  });

  it('SEED_DEMO seeds demoLocation0001 with a provider pointing at the delivery URL, and auto-approves', async () => {
    const demo = await startGhlSandbox({
      port: 0,
      logLevel: 'silent',
      seedDemo: true,
      providerDeliveryUrl: 'http://127.0.0.1:3999/webhooks/ghl/provider',
    });
    try {
      const admin = new GhlSandboxAdminClient(demo.url);
      const state = await admin.state();
      expect(state.locations).toEqual([
        expect.objectContaining({ id: 'demoLocation0001', name: 'Demo Location' }),
      ]);
      expect(state.providers).toEqual([
        expect.objectContaining({
          deliveryUrl: 'http://127.0.0.1:3999/webhooks/ghl/provider',
          appId: 'sandbox',
        }),
      ]);
      expect((await admin.settings()).autoApprove).toBe(true);
      await admin.reset();
      expect((await admin.state()).locations.map((l) => l.id)).toEqual(['demoLocation0001']);
    } finally {
      await demo.close();
    }
  });
});
