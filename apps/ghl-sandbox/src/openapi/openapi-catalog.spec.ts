import { OpenApiCatalog, type RequestToValidate } from './openapi-catalog';
import { resolveOpenApiDir } from './openapi-files';

const catalog = new OpenApiCatalog(resolveOpenApiDir());
const strict = { rejectUnknownProperties: true };

function request(over: Partial<RequestToValidate>): RequestToValidate {
  return { query: {}, headers: {}, pathParams: {}, contentType: 'application/json', body: {}, ...over };
}

function messages(operationId: string, over: Partial<RequestToValidate>, options = strict): string[] {
  return catalog.validate(catalog.get(operationId), request(over), options).map((i) => i.message);
}

describe('OpenApiCatalog routing', () => {
  it.each([
    ['POST', '/contacts/upsert', 'upsert-contact'],
    ['GET', '/contacts/search/duplicate', 'get-duplicate-contact'],
    ['GET', '/contacts/abc123', 'get-contact'],
    ['POST', '/contacts/abc123/tags', 'add-tags'],
    ['POST', '/contacts/', 'create-contact'],
    ['POST', '/contacts', 'create-contact'],
    ['GET', '/conversations/search', 'search-conversation'],
    ['GET', '/conversations/c1', 'get-conversation'],
    ['GET', '/conversations/c1/messages', 'get-messages'],
    ['POST', '/conversations/messages', 'send-a-new-message'],
    ['POST', '/conversations/messages/inbound', 'add-an-inbound-message'],
    ['PUT', '/conversations/messages/m1/status', 'update-message-status'],
    ['POST', '/oauth/token', 'get-access-token'],
    ['POST', '/oauth/locationToken', 'get-location-access-token'],
    ['GET', '/oauth/installedLocations', 'get-installed-location'],
    ['GET', '/locations/l1', 'get-location'],
  ])('%s %s is %s', (method, path, operationId) => {
    expect(catalog.match(method, path)?.operation.operationId).toBe(operationId);
  });

  it('extracts path parameters, including the undeclared one of GET /conversations/messages/{id}', () => {
    expect(catalog.match('PUT', '/conversations/messages/m%201/status')?.pathParams).toEqual({
      messageId: 'm 1',
    });
    expect(catalog.match('GET', '/conversations/messages/xyz')?.pathParams).toEqual({ id: 'xyz' });
  });

  it('knows no route outside the spec, nor a known path with another method', () => {
    expect(catalog.match('GET', '/contacts/upsert/extra/deep')).toBeNull();
    expect(catalog.match('PATCH', '/contacts/upsert')).toBeNull();
    expect(catalog.match('GET', '/v1/contacts')).toBeNull();
  });

  it('records the Version values per API family', () => {
    expect(catalog.get('upsert-contact').versions).toEqual(['2021-07-28']);
    expect(catalog.get('add-an-inbound-message').versions).toEqual(['2021-04-15']);
    expect(catalog.get('get-installed-location').versions).toEqual(['2021-07-28']);
    expect(catalog.get('get-access-token').versions).toBeNull();
  });
});

describe('OpenApiCatalog validation', () => {
  it('names a missing required body field in class-validator wording', () => {
    expect(messages('upsert-contact', { body: { phone: '+15550001111' } })).toEqual([
      'locationId should not be empty',
    ]);
  });

  it('names wrongly typed fields, array items and enum values', () => {
    expect(
      messages('upsert-contact', {
        body: { locationId: 7, tags: ['ok', 3], dnd: 'yes', dndSettings: { SMS: { status: 'x' } } },
      }),
    ).toEqual([
      'locationId must be a string',
      'dnd must be a boolean value',
      'dndSettings.SMS.status must be one of the following values: active, inactive, permanent',
      'each value in tags must be a string',
    ]);
  });

  it('rejects unknown properties like forbidNonWhitelisted (ISSUE #262), and can be told not to', () => {
    const body = { locationId: 'l1', additionalEmails: ['a@b.c'] };
    expect(messages('upsert-contact', { body })).toEqual(['property additionalEmails should not exist']);
    expect(messages('upsert-contact', { body }, { rejectUnknownProperties: false })).toEqual([]);
  });

  it('checks required and unknown query parameters (`number`, not `phone`, §3.2)', () => {
    expect(messages('get-duplicate-contact', { query: { phone: '+1555' } })).toEqual([
      'locationId should not be empty',
      'property phone should not exist',
    ]);
    expect(messages('get-duplicate-contact', { query: { locationId: 'l1', number: '+1555' } })).toEqual([]);
  });

  it('coerces typed query parameters before checking them', () => {
    const query = { companyId: 'c1', appId: 'a1', isInstalled: 'true' };
    expect(messages('get-installed-location', { query })).toEqual([]);
    expect(messages('get-installed-location', { query: { ...query, isInstalled: 'maybe' } })).toEqual([
      'isInstalled must be a boolean value',
    ]);
  });

  it('a body in a media type the operation does not take counts as missing', () => {
    expect(messages('upsert-contact', { contentType: 'text/plain', body: 'locationId=l1' })).toEqual([
      'locationId should not be empty',
    ]);
  });

  it('inbound message: provider id and conversation id optional, direction a string (leniencies)', () => {
    expect(
      messages('add-an-inbound-message', { body: { type: 'SMS', contactId: 'c1', direction: 'inbound' } }),
    ).toEqual([]);
    expect(messages('add-an-inbound-message', { body: { type: 'SMS', direction: 'sideways' } })).toEqual([
      'contactId should not be empty',
      'direction must be one of the following values: inbound, outbound',
    ]);
    expect(
      messages('add-an-inbound-message', { body: { type: 'Telegram', contactId: 'c1', date: 'yesterday' } }),
    ).toEqual([
      expect.stringMatching(/^type must be one of the following values: SMS, RCS, Email, WhatsApp/),
      'date must be a valid ISO 8601 date string',
    ]);
  });

  it('send message needs only type and contactId (subType/status are a spec artefact, §4.3)', () => {
    expect(messages('send-a-new-message', { body: { type: 'SMS', contactId: 'c1', message: 'hi' } })).toEqual(
      [],
    );
    expect(messages('send-a-new-message', { body: { message: 'hi' } })).toEqual([
      'type should not be empty',
      'contactId should not be empty',
    ]);
  });

  it('status update needs a valid status, and error needs code, type and message', () => {
    expect(
      messages('update-message-status', { pathParams: { messageId: 'm' }, body: { status: 'sent' } }),
    ).toEqual(['status must be one of the following values: delivered, failed, pending, read']);
    expect(
      messages('update-message-status', {
        pathParams: { messageId: 'm' },
        body: { status: 'failed', error: { code: '1' } },
      }),
    ).toEqual(['error.type should not be empty', 'error.message should not be empty']);
  });

  it('location token accepts a JSON body as well as the declared form (§2.3)', () => {
    const body = { companyId: 'c1', locationId: 'l1' };
    expect(messages('get-location-access-token', { contentType: 'application/json', body })).toEqual([]);
    expect(
      messages('get-location-access-token', { contentType: 'application/x-www-form-urlencoded', body }),
    ).toEqual([]);
    expect(messages('get-location-access-token', { contentType: 'application/json', body: {} })).toEqual([
      'companyId should not be empty',
      'locationId should not be empty',
    ]);
  });

  it('dateOfBirth as the documented "1990-09-25" string passes (leniency)', () => {
    expect(messages('upsert-contact', { body: { locationId: 'l1', dateOfBirth: '1990-09-25' } })).toEqual([]);
  });
});

describe('OpenApiCatalog response schemas', () => {
  it('flags a response missing what the spec requires, and passes a conforming one', () => {
    const op = catalog.get('send-a-new-message');
    expect(catalog.validateResponse(op, 200, {})?.map((i) => i.message)).toEqual([
      'conversationId should not be empty',
      'messageId should not be empty',
      'status should not be empty',
    ]);
    expect(
      catalog.validateResponse(op, 200, { conversationId: 'c', messageId: 'm', status: 'pending' }),
    ).toEqual([]);
  });

  it('returns null where the spec documents no JSON body', () => {
    expect(catalog.validateResponse(catalog.get('get-duplicate-contact'), 200, {})).toBeNull();
  });
});
