import { CLIENT, REDIRECT_URI, startTestSandbox, type TestSandbox } from './sandbox-fixture';

describe('GHL sandbox: OAuth (GHL-CONTRACT §2)', () => {
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

  async function installLocation(): Promise<{ locationId: string; companyId: string; code: string }> {
    const location = await t.admin.createLocation({ name: 'Acme Plumbing' });
    await t.admin.setNextGrant({ userType: 'Location', locationId: location.id });
    const auth = await t.api.authorize({
      clientId: CLIENT.clientId,
      redirectUri: REDIRECT_URI,
      state: 'xyz',
    });
    expect(auth.status).toBe(302);
    expect(auth.location?.startsWith(`${REDIRECT_URI}?`)).toBe(true);
    expect(auth.state).toBe('xyz');
    return { locationId: location.id, companyId: location.companyId, code: auth.code! };
  }

  it('choose-location redirects with a code that exchanges once for a Location token pair', async () => {
    const { locationId, companyId, code } = await installLocation();

    const first = await t.api.exchangeCode({
      ...CLIENT,
      code,
      redirectUri: REDIRECT_URI,
      userType: 'Location',
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 86399,
      userType: 'Location',
      locationId,
      companyId,
    });
    expect(typeof first.body.access_token).toBe('string');
    expect(String(first.body.access_token).split('.')).toHaveLength(3); // JWT-shaped
    expect(typeof first.body.userId).toBe('string');

    const second = await t.api.exchangeCode({ ...CLIENT, code });
    expect(second.status).toBe(400);
    expect(second.body).toEqual({ statusCode: 400, message: 'Invalid grant: authorization code is invalid' });
  });

  it('the legacy /oauth/chooselocation path (SDK) works too', async () => {
    const location = await t.admin.createLocation();
    await t.admin.setNextGrant({ userType: 'Location', locationId: location.id });
    const auth = await t.api.authorize({
      clientId: CLIENT.clientId,
      redirectUri: REDIRECT_URI,
      legacyPath: true,
    });
    expect(auth.status).toBe(302);
    expect(auth.code).toMatch(/^[0-9a-f]{40}$/);
  });

  it('without a scripted grant or auto-approve the consent page lists the locations', async () => {
    const location = await t.admin.createLocation({ name: 'Pick Me' });
    const res = await t.api.request<string>('GET', '/v2/oauth/chooselocation', {
      query: { response_type: 'code', client_id: CLIENT.clientId, redirect_uri: REDIRECT_URI },
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain('Pick Me');
    const approve = /href="([^"]*locationId=[^"]*)"/.exec(res.body)![1].replace(/&#38;/g, '&');
    expect(approve).toContain(location.id);
    const chosen = await t.api.request('GET', approve);
    expect(chosen.status).toBe(302);
    expect(new URL(chosen.headers.get('location')!).searchParams.get('code')).toBeTruthy();
  });

  it('auto-approve mode grants the first location without scripting', async () => {
    await t.admin.updateSettings({ autoApprove: true });
    try {
      const location = await t.admin.createLocation();
      const auth = await t.api.authorize({ clientId: CLIENT.clientId, redirectUri: REDIRECT_URI });
      expect(auth.status).toBe(302);
      const tokens = await t.api.exchangeCode({ ...CLIENT, code: auth.code! });
      expect(tokens.body.locationId).toBe(location.id);
    } finally {
      await t.admin.updateSettings({ autoApprove: false });
    }
  });

  it('rejects an unknown client_id on the consent page', async () => {
    const auth = await t.api.authorize({ clientId: 'someone-else', redirectUri: REDIRECT_URI });
    expect(auth.status).toBe(400);
  });

  it('a refresh rotates: the old refresh token is dead after one use', async () => {
    const { code } = await installLocation();
    const pair = await t.api.exchangeCode({ ...CLIENT, code });
    const oldRefresh = String(pair.body.refresh_token);

    const refreshed = await t.api.refresh({ ...CLIENT, refreshToken: oldRefresh, userType: 'Location' });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(oldRefresh);
    expect(refreshed.body.access_token).not.toBe(pair.body.access_token);

    const reused = await t.api.refresh({ ...CLIENT, refreshToken: oldRefresh });
    expect(reused.status).toBe(400);
    expect(reused.body).toEqual({ statusCode: 400, message: 'Invalid grant: refresh token is invalid' });

    const next = await t.api.refresh({ ...CLIENT, refreshToken: String(refreshed.body.refresh_token) });
    expect(next.status).toBe(200);
  });

  it('of concurrent refreshes with the same token exactly one succeeds', async () => {
    const { code } = await installLocation();
    const pair = await t.api.exchangeCode({ ...CLIENT, code });
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.api.refresh({ ...CLIENT, refreshToken: String(pair.body.refresh_token) }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400, 400, 400, 400]);
  });

  it('an inactive location answers 400 "Location is not active" and keeps the refresh token', async () => {
    const { locationId, code } = await installLocation();
    const pair = await t.api.exchangeCode({ ...CLIENT, code });
    await t.admin.updateLocation(locationId, { active: false });

    const paused = await t.api.refresh({ ...CLIENT, refreshToken: String(pair.body.refresh_token) });
    expect(paused.status).toBe(400);
    expect(paused.body).toEqual({ statusCode: 400, message: 'Location is not active' });

    await t.admin.updateLocation(locationId, { active: true });
    const resumed = await t.api.refresh({ ...CLIENT, refreshToken: String(pair.body.refresh_token) });
    expect(resumed.status).toBe(200);
  });

  it('token endpoint errors: bad client 401, missing parameter 400, unsupported grant 400', async () => {
    const badClient = await t.api.exchangeCode({
      clientId: CLIENT.clientId,
      clientSecret: 'wrong',
      code: 'x',
    });
    expect(badClient.status).toBe(401);
    expect(badClient.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });

    const missing = await t.api.request('POST', '/oauth/token', {
      form: { client_id: CLIENT.clientId, grant_type: 'refresh_token', refresh_token: 'x' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ statusCode: 400, message: 'Missing parameter: client_secret' });

    const badGrant = await t.api.request('POST', '/oauth/token', {
      form: { ...{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret }, grant_type: 'password' },
    });
    expect(badGrant.status).toBe(400);
    expect(badGrant.body).toEqual({ statusCode: 400, message: 'Invalid parameter: grant_type' });

    // The spec declares a form body only: a JSON body is not read, so every field is missing.
    const json = await t.api.request('POST', '/oauth/token', {
      json: { client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, grant_type: 'refresh_token' },
    });
    expect(json.status).toBe(400);
    expect(json.body).toEqual({ statusCode: 400, message: 'Missing parameter: client_id' });
  });

  it('an agency install yields a Company token that mints location tokens and lists installed locations', async () => {
    const company = await t.admin.createCompany({
      name: 'Agency',
      locations: [{ name: 'North' }, { name: 'South' }, { name: 'West' }],
    });
    const [north, south, west] = company.locations;
    await t.admin.setNextGrant({
      userType: 'Company',
      companyId: company.id,
      locationIds: [north.id, south.id],
    });
    const auth = await t.api.authorize({ clientId: CLIENT.clientId, redirectUri: REDIRECT_URI });
    const pair = await t.api.exchangeCode({ ...CLIENT, code: auth.code!, userType: 'Company' });
    expect(pair.status).toBe(200);
    expect(pair.body).toMatchObject({ userType: 'Company', companyId: company.id, isBulkInstallation: true });
    expect(pair.body.locationId).toBeUndefined();
    const companyToken = String(pair.body.access_token);

    const listed = await t.api.installedLocations(companyToken, {
      companyId: company.id,
      appId: 'sandbox',
      isInstalled: true,
    });
    expect(listed.status).toBe(200);
    expect((listed.body.locations as Array<{ _id: string }>).map((l) => l._id).sort()).toEqual(
      [north.id, south.id].sort(),
    );
    expect(listed.body.count).toBe(2);

    const minted = await t.api.locationToken(companyToken, { companyId: company.id, locationId: north.id });
    expect(minted.status).toBe(200);
    expect(minted.body).toMatchObject({ locationId: north.id, token_type: 'Bearer', appId: 'sandbox' });
    expect(typeof minted.body.refresh_token).toBe('string');
    const locationToken = String(minted.body.access_token);
    const usable = await t.api.getLocation(locationToken, north.id);
    expect(usable.status).toBe(200);
    expect(usable.body).toMatchObject({ location: { id: north.id, companyId: company.id } });

    const notApproved = await t.api.locationToken(companyToken, {
      companyId: company.id,
      locationId: west.id,
    });
    expect(notApproved.status).toBe(400);

    // A Location token cannot mint location tokens (Agency-Access-Only).
    const wrongType = await t.api.locationToken(locationToken, {
      companyId: company.id,
      locationId: south.id,
    });
    expect(wrongType.status).toBe(401);
  });

  it('a revoked or expired access token gets 401 Invalid JWT', async () => {
    const location = await t.admin.createLocation();
    const a = await t.admin.issueTokens({ locationId: location.id });
    const b = await t.admin.issueTokens({ locationId: location.id });
    expect((await t.api.getLocation(a.access_token, location.id)).status).toBe(200);

    expect(await t.admin.revokeTokens({ accessToken: a.access_token })).toEqual({ revoked: 1 });
    const revoked = await t.api.getLocation(a.access_token, location.id);
    expect(revoked.status).toBe(401);
    expect(revoked.body).toEqual({ statusCode: 401, message: 'Invalid JWT', error: 'Unauthorized' });

    await t.admin.expireTokens({ accessToken: b.access_token });
    expect((await t.api.getLocation(b.access_token, location.id)).status).toBe(401);
    // Its refresh token still works: expiry is the normal path into a refresh.
    expect((await t.api.refresh({ ...CLIENT, refreshToken: b.refresh_token })).status).toBe(200);
  });
});
