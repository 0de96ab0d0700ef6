import { CLIENT, REDIRECT_URI, startTestSandbox, type TestSandbox } from './sandbox-fixture';

/**
 * The sandbox's success answers must keep the official response shapes, or the product would be
 * tested against a GHL that does not exist. One deviation is deliberate and documented:
 * GET /conversations/{id}/messages answers the nested shape the live API uses (ISSUE #54).
 */
const DOCUMENTED_DEVIATIONS = new Set(['get-messages']);

describe('GHL sandbox: success responses match the spec response schemas', () => {
  let t: TestSandbox;

  beforeAll(async () => {
    t = await startTestSandbox({ statusUpdateDelaySeconds: 0 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('for every operation a bridge uses', async () => {
    const { api, admin } = t;
    const company = await admin.createCompany({ locations: [{ name: 'One' }, { name: 'Two' }] });
    const [one] = company.locations;
    await admin.createProvider({ deliveryUrl: 'http://127.0.0.1:9/unreachable' });

    // OAuth: location install, refresh; agency install, location token, installed locations.
    const locCode = await admin.issueCode({ userType: 'Location', locationId: one.id }, REDIRECT_URI);
    const locPair = await api.exchangeCode({ ...CLIENT, code: locCode.code, redirectUri: REDIRECT_URI });
    const refreshed = await api.refresh({ ...CLIENT, refreshToken: String(locPair.body.refresh_token) });
    const token = String(refreshed.body.access_token);
    const agencyCode = await admin.issueCode({ userType: 'Company', companyId: company.id });
    const agency = await api.exchangeCode({ ...CLIENT, code: agencyCode.code });
    const agencyToken = String(agency.body.access_token);
    await api.locationToken(agencyToken, { companyId: company.id, locationId: one.id });
    await api.installedLocations(agencyToken, { companyId: company.id, appId: 'sandbox' });
    await api.getLocation(token, one.id);

    // Contacts.
    const upserted = await api.upsertContact(token, {
      locationId: one.id,
      phone: '+15553334444',
      name: 'Dee',
      tags: ['a'],
    });
    const contactId = (upserted.body.contact as { id: string }).id;
    await api.upsertContact(token, { locationId: one.id, phone: '+15553334444', email: 'dee@example.com' });
    await api.duplicateContact(token, { locationId: one.id, number: '+15553334444' });
    await api.getContact(token, contactId);
    await api.request('PUT', `/contacts/${contactId}`, {
      token,
      version: '2021-07-28',
      json: { lastName: 'Q' },
    });
    await api.addTags(token, contactId, ['b']);
    await api.removeTags(token, contactId, ['a']);

    // Conversations and messages.
    const conv = await api.createConversation(token, { locationId: one.id, contactId });
    const conversationId = (conv.body.conversation as { id: string }).id;
    await api.searchConversations(token, { locationId: one.id, contactId });
    const inbound = await api.addInboundMessage(token, {
      type: 'SMS',
      contactId,
      conversationId,
      message: 'hi',
      direction: 'inbound',
      altId: 'w1',
    });
    const sent = await api.sendMessage(token, { type: 'SMS', contactId, message: 'yo' });
    await api.updateMessageStatus(token, String(sent.body.messageId), { status: 'delivered' });
    await api.request('GET', `/conversations/messages/${String(inbound.body.messageId)}`, {
      token,
      version: '2021-04-15',
    });
    await api.request('GET', `/conversations/${conversationId}`, { token, version: '2021-04-15' });
    await api.listMessages(token, conversationId);

    const { catalog } = t.sandbox.context;
    const checked: string[] = [];
    const failures: Array<{ operationId: string; issues: string[] }> = [];
    for (const r of t.sandbox.state.requests) {
      expect({ request: `${r.method} ${r.path}`, ok: r.status < 300 }).toEqual({
        request: `${r.method} ${r.path}`,
        ok: true,
      });
      if (!r.operationId || DOCUMENTED_DEVIATIONS.has(r.operationId)) continue;
      const issues = catalog.validateResponse(catalog.get(r.operationId), r.status, r.responseBody);
      if (issues === null) continue;
      checked.push(r.operationId);
      if (issues.length > 0)
        failures.push({ operationId: r.operationId, issues: issues.map((i) => i.message) });
    }
    expect(failures).toEqual([]);
    expect(new Set(checked)).toEqual(
      new Set([
        'get-access-token',
        'get-location-access-token',
        'get-installed-location',
        'get-location',
        'upsert-contact',
        'get-contact',
        'update-contact',
        'add-tags',
        'remove-tags',
        'create-conversation',
        'search-conversation',
        'add-an-inbound-message',
        'send-a-new-message',
        'update-message-status',
        'get-message',
        'get-conversation',
      ]),
    );
  });
});
