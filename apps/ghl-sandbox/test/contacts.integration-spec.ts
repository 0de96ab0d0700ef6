import { GHL_VERSIONS } from '@app/ghl-sandbox-client';
import { locationWithToken, startTestSandbox, type TestSandbox } from './sandbox-fixture';

describe('GHL sandbox: contacts (GHL-CONTRACT §3)', () => {
  let t: TestSandbox;
  let locationId: string;
  let token: string;

  beforeAll(async () => {
    t = await startTestSandbox();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.admin.reset();
    ({
      location: { id: locationId },
      token,
    } = await locationWithToken(t.admin));
  });

  it('upsert matches on the E.164 phone: the same number twice is one contact, new:false the second time', async () => {
    const first = await t.api.upsertContact(token, { locationId, phone: '+1 555-000-1111', name: 'Ana' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      new: true,
      contact: { locationId, phone: '+15550001111', name: 'Ana' },
    });
    expect(typeof first.body.traceId).toBe('string');

    const second = await t.api.upsertContact(token, {
      locationId,
      phone: '+15550001111',
      firstName: 'Ana',
      lastName: 'Lima',
    });
    expect(second.status).toBe(200);
    const contact = second.body.contact as { id: string; firstName: string };
    expect(second.body.new).toBe(false);
    expect(contact.id).toBe((first.body.contact as { id: string }).id);
    expect(contact.firstName).toBe('Ana');
    expect(await t.admin.contacts({ locationId })).toHaveLength(1);
  });

  it('upsert falls back to email, and tags in an upsert overwrite the old ones', async () => {
    const a = await t.api.upsertContact(token, {
      locationId,
      email: 'ana@example.com',
      tags: ['one', 'two'],
    });
    const b = await t.api.upsertContact(token, { locationId, email: 'ANA@example.com', tags: ['three'] });
    expect(b.body.new).toBe(false);
    expect((b.body.contact as { id: string }).id).toBe((a.body.contact as { id: string }).id);
    expect((b.body.contact as { tags: string[] }).tags).toEqual(['three']);
  });

  it('the same phone in another location is another contact', async () => {
    const other = await locationWithToken(t.admin);
    await t.api.upsertContact(token, { locationId, phone: '+15550002222' });
    const there = await t.api.upsertContact(other.token, {
      locationId: other.location.id,
      phone: '+15550002222',
    });
    expect(there.body.new).toBe(true);
  });

  it('a token for another location gets 403', async () => {
    const other = await locationWithToken(t.admin);
    const res = await t.api.upsertContact(token, { locationId: other.location.id, phone: '+15550003333' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ statusCode: 403, message: 'The token does not have access to this location' });
  });

  it('a missing locationId is a 422 that names it', async () => {
    const res = await t.api.upsertContact(token, { phone: '+15550001111' });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      statusCode: 422,
      message: ['locationId should not be empty'],
      error: 'Unprocessable Entity',
    });
  });

  it('an undocumented property and a wrong type are 422s that name the fields', async () => {
    const res = await t.api.upsertContact(token, {
      locationId,
      phone: 15550001111,
      additionalEmails: ['x@y.z'],
    });
    expect(res.status).toBe(422);
    expect(res.body.message).toEqual([
      'phone must be a string',
      'property additionalEmails should not exist',
    ]);
    expect(await t.admin.contacts({ locationId })).toHaveLength(0);
  });

  it('duplicate search takes `number` (E.164) and answers {contact} or {contact:null}', async () => {
    const created = await t.api.upsertContact(token, {
      locationId,
      phone: '+15550004444',
      email: 'b@example.com',
    });
    const id = (created.body.contact as { id: string }).id;

    const byNumber = await t.api.duplicateContact(token, { locationId, number: '+15550004444' });
    expect(byNumber.status).toBe(200);
    expect((byNumber.body.contact as { id: string }).id).toBe(id);

    const byEmail = await t.api.duplicateContact(token, { locationId, email: 'b@example.com' });
    expect((byEmail.body.contact as { id: string }).id).toBe(id);

    const none = await t.api.duplicateContact(token, { locationId, number: '+15559999999' });
    expect(none.status).toBe(200);
    expect(none.body.contact).toBeNull();

    // Third-party code sends `phone=`: GHL's DTO does not know it.
    const wrongParam = await t.api.request('GET', '/contacts/search/duplicate', {
      token,
      version: GHL_VERSIONS.contacts,
      query: { locationId, phone: '+15550004444' },
    });
    expect(wrongParam.status).toBe(422);
    expect(wrongParam.body.message).toEqual(['property phone should not exist']);
  });

  it('get, update, and additive tags', async () => {
    const created = await t.api.upsertContact(token, { locationId, phone: '+15550005555', tags: ['lead'] });
    const id = (created.body.contact as { id: string }).id;

    const got = await t.api.getContact(token, id);
    expect(got.status).toBe(200);
    expect(got.body.contact).toMatchObject({ id, phone: '+15550005555', tags: ['lead'] });

    const updated = await t.api.request('PUT', `/contacts/${id}`, {
      token,
      version: GHL_VERSIONS.contacts,
      json: { firstName: 'Bo' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ succeded: true, contact: { id, firstName: 'Bo' } });

    const added = await t.api.addTags(token, id, ['whatsapp', 'lead']);
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ tags: ['lead', 'whatsapp'] });

    const removed = await t.api.removeTags(token, id, ['lead']);
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ tags: ['whatsapp'] });

    const unknown = await t.api.getContact(token, 'doesNotExist00000000');
    expect(unknown.status).toBe(400);
  });

  it('a contact of another location is 403 on get', async () => {
    const other = await locationWithToken(t.admin);
    const theirs = await t.api.upsertContact(other.token, {
      locationId: other.location.id,
      phone: '+15550006666',
    });
    const res = await t.api.getContact(token, (theirs.body.contact as { id: string }).id);
    expect(res.status).toBe(403);
  });

  it('create answers 201, and 400 for a duplicate when the location does not allow duplicates', async () => {
    const created = await t.api.request('POST', '/contacts/', {
      token,
      version: GHL_VERSIONS.contacts,
      json: { locationId, phone: '+15550007777' },
    });
    expect(created.status).toBe(201);
    const dup = await t.api.request('POST', '/contacts/', {
      token,
      version: GHL_VERSIONS.contacts,
      json: { locationId, phone: '+15550007777' },
    });
    expect(dup.status).toBe(400);
    expect(dup.body).toMatchObject({
      meta: { contactId: (created.body.contact as { id: string }).id, matchingField: 'phone' },
    });
  });

  describe('Version header (§1)', () => {
    it('missing is 401 "version header was not found."', async () => {
      const res = await t.api.request('POST', '/contacts/upsert', {
        token,
        version: null,
        json: { locationId },
      });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        statusCode: 401,
        message: 'version header was not found.',
        error: 'Unauthorized',
      });
    });

    it('another family\'s value is 401 "version header is invalid" in strict mode', async () => {
      const res = await t.api.request('POST', '/contacts/upsert', {
        token,
        version: '2021-04-15',
        json: { locationId },
      });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        statusCode: 401,
        message: 'version header is invalid',
        error: 'Unauthorized',
      });
    });

    it('live mode accepts the four values live GHL accepts, and still rejects others', async () => {
      await t.admin.updateSettings({ versionMode: 'live' });
      try {
        for (const version of ['2021-07-28', '2021-04-15', '2023-02-21', 'v3']) {
          const res = await t.api.request('POST', '/contacts/upsert', {
            token,
            version,
            json: { locationId },
          });
          expect({ version, status: res.status }).toEqual({ version, status: 200 });
        }
        const bad = await t.api.request('POST', '/contacts/upsert', {
          token,
          version: '2020-01-01',
          json: { locationId },
        });
        expect(bad.status).toBe(401);
      } finally {
        await t.admin.updateSettings({ versionMode: 'strict' });
      }
    });
  });

  it('a missing or unknown bearer token is 401 Invalid JWT; an agency token on a location endpoint is 401', async () => {
    const none = await t.api.request('POST', '/contacts/upsert', {
      version: GHL_VERSIONS.contacts,
      json: { locationId },
    });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ statusCode: 401, message: 'Invalid JWT', error: 'Unauthorized' });

    const company = await t.admin.createCompany();
    const agency = await t.admin.issueTokens({ companyId: company.id });
    const wrongType = await t.api.upsertContact(agency.access_token, { locationId });
    expect(wrongType.status).toBe(401);
    expect(String(wrongType.body.message)).toMatch(/authClass type is not allowed/);
  });

  it('a token without the scope is 401 "The token is not authorized for this scope."', async () => {
    const limited = await t.admin.issueTokens({ locationId, scopes: ['contacts.readonly'] });
    const res = await t.api.upsertContact(limited.access_token, { locationId, phone: '+15550009999' });
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('The token is not authorized for this scope.');
    const read = await t.api.duplicateContact(limited.access_token, { locationId, number: '+15550009999' });
    expect(read.status).toBe(200);
  });
});
