import { createHash, randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { DataSource } from 'typeorm';
import { SecretBox } from '../crypto/secret-box';
import { sealingContext } from '../crypto/sealing-context';
import { createDataSource } from '../data-source';
import {
  ApiKeyEntity,
  AUTH_CREDS_CATEGORY,
  AuthStateEntity,
  InstallationEntity,
  MessageMappingEntity,
  OAuthTokenEntity,
  ProcessedMessageEntity,
  SessionEntity,
  SessionLeaseEntity,
  WebhookReceiptEntity,
  WorkerEntity,
} from './index';

const UNIQUE_VIOLATION = '23505';
const CHECK_VIOLATION = '23514';

describe('entities (real Postgres)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  const box = new SecretBox({ id: 1, key: randomBytes(32) });

  beforeAll(async () => {
    db = await createTestDatabase('persistence_entities_test');
    dataSource = createDataSource(db.url);
    await dataSource.initialize();
    await dataSource.runMigrations();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('saves and reads an installation, with defaults filled by the database', async () => {
    const repo = dataSource.getRepository(InstallationEntity);
    await repo.insert({ locationId: 'locA', companyId: 'compA', installType: 'Location' });
    const found = await repo.findOneByOrFail({ locationId: 'locA' });
    expect(found).toMatchObject({
      companyId: 'compA',
      installType: 'Location',
      status: 'active',
      statusReason: null,
    });
    expect(found.installedAt).toBeInstanceOf(Date);
    expect(found.updatedAt).toBeInstanceOf(Date);

    await expect(repo.update({ locationId: 'locA' }, { status: 'paused' as never })).rejects.toMatchObject({
      code: CHECK_VIOLATION,
    });
  });

  it('keeps session epochs as numbers and lets a fenced write refuse a stale epoch', async () => {
    const repo = dataSource.getRepository(SessionEntity);
    await repo.save(
      repo.create({ locationId: 'locA', desiredState: 'running', state: 'open', stateEpoch: 7 }),
    );
    const found = await repo.findOneByOrFail({ locationId: 'locA' });
    expect(found.stateEpoch).toBe(7);
    expect(found).toMatchObject({ desiredState: 'running', state: 'open', phone: null, qr: null });

    const fencedWrite = (epoch: number, state: string) =>
      repo
        .createQueryBuilder()
        .update()
        .set({ state: state as never, stateEpoch: epoch })
        .where('location_id = :id AND state_epoch <= :epoch', { id: 'locA', epoch })
        .execute();
    expect((await fencedWrite(6, 'reconnecting')).affected).toBe(0);
    expect((await fencedWrite(8, 'reconnecting')).affected).toBe(1);
    expect(await repo.findOneByOrFail({ locationId: 'locA' })).toMatchObject({
      state: 'reconnecting',
      stateEpoch: 8,
    });
  });

  it('stores lease epochs beyond 32 bits and judges expiry by the database clock', async () => {
    const repo = dataSource.getRepository(SessionLeaseEntity);
    const epoch = 2 ** 40 + 1;
    await repo
      .createQueryBuilder()
      .insert()
      .values({
        locationId: 'locA',
        ownerId: 'worker-1',
        epoch,
        expiresAt: () => "now() + interval '15 seconds'",
      })
      .execute();
    expect(await repo.findOneByOrFail({ locationId: 'locA' })).toMatchObject({ ownerId: 'worker-1', epoch });
    const [{ live }] = await dataSource.query<[{ live: boolean }]>(
      `SELECT expires_at > now() AS live FROM session_leases WHERE location_id = 'locA'`,
    );
    expect(live).toBe(true);
    await expect(
      repo.insert({ locationId: 'locB', ownerId: 'w', epoch: 0, expiresAt: new Date() }),
    ).rejects.toMatchObject({ code: CHECK_VIOLATION });
  });

  it('round-trips sealed OAuth tokens and lets only one refresh win the revision compare-and-set', async () => {
    const repo = dataSource.getRepository(OAuthTokenEntity);
    const seal = (token: 'access' | 'refresh', value: string) =>
      box.seal(value, sealingContext.oauthToken('location', 'locA', token));
    await repo.insert({
      resourceType: 'location',
      resourceId: 'locA',
      accessTokenEnc: seal('access', 'access-1'),
      refreshTokenEnc: seal('refresh', 'refresh-1'),
      expiresAt: new Date(Date.now() + 86_399_000),
      scopes: 'contacts.write conversations.write',
      userType: 'Location',
    });
    const stored = await repo.findOneByOrFail({ resourceType: 'location', resourceId: 'locA' });
    expect(stored.revision).toBe(0);
    expect(Buffer.isBuffer(stored.refreshTokenEnc)).toBe(true);
    expect(
      box.openString(stored.refreshTokenEnc!, sealingContext.oauthToken('location', 'locA', 'refresh')),
    ).toBe('refresh-1');

    const refresh = (value: string) =>
      repo
        .createQueryBuilder()
        .update()
        .set({ refreshTokenEnc: seal('refresh', value), revision: () => 'revision + 1' })
        .where('resource_type = :type AND resource_id = :id AND revision = :seen', {
          type: 'location',
          id: 'locA',
          seen: stored.revision,
        })
        .execute();
    const results = await Promise.all([refresh('refresh-2a'), refresh('refresh-2b')]);
    expect(results.map((r) => r.affected).sort()).toEqual([0, 1]);
    expect((await repo.findOneByOrFail({ resourceType: 'location', resourceId: 'locA' })).revision).toBe(1);
  });

  it('round-trips auth state rows keyed by location, category and key id', async () => {
    const repo = dataSource.getRepository(AuthStateEntity);
    const creds = { locationId: 'locA', category: AUTH_CREDS_CATEGORY, keyId: '' };
    const sessionKey = { locationId: 'locA', category: 'session', keyId: '15550000001.0:2@s.whatsapp.net' };
    for (const row of [creds, sessionKey]) {
      await repo.save({
        ...row,
        valueEnc: box.seal(
          JSON.stringify(row),
          sealingContext.authState(row.locationId, row.category, row.keyId),
        ),
        writtenEpoch: 3,
      });
    }
    const found = await repo.findOneByOrFail(sessionKey);
    expect(found.writtenEpoch).toBe(3);
    expect(
      JSON.parse(
        box.openString(found.valueEnc, sealingContext.authState('locA', 'session', sessionKey.keyId)),
      ),
    ).toEqual(sessionKey);
    expect(await repo.countBy({ locationId: 'locA' })).toBe(2);
  });

  it('refuses a second mapping for the same WhatsApp or GHL message in a location', async () => {
    const repo = dataSource.getRepository(MessageMappingEntity);
    await repo.insert({ locationId: 'locA', waMessageId: 'wa1', ghlMessageId: 'ghl1', direction: 'inbound' });
    await expect(
      repo.insert({ locationId: 'locA', waMessageId: 'wa1', ghlMessageId: 'ghl2', direction: 'inbound' }),
    ).rejects.toMatchObject({ code: UNIQUE_VIOLATION });
    await expect(
      repo.insert({ locationId: 'locA', waMessageId: 'wa2', ghlMessageId: 'ghl1', direction: 'outbound' }),
    ).rejects.toMatchObject({ code: UNIQUE_VIOLATION });
    // The same ids in another location are another tenant's messages.
    await repo.insert({ locationId: 'locB', waMessageId: 'wa1', ghlMessageId: 'ghl1', direction: 'inbound' });
    expect(await repo.findOneByOrFail({ locationId: 'locA', ghlMessageId: 'ghl1' })).toMatchObject({
      waMessageId: 'wa1',
      direction: 'inbound',
    });
  });

  it('records a processed message once, keeping the first result', async () => {
    const repo = dataSource.getRepository(ProcessedMessageEntity);
    const key = 'sync:wa-inbound:locA:wa1';
    const record = (result: Record<string, unknown>) =>
      repo.createQueryBuilder().insert().values({ key, locationId: 'locA', result }).orIgnore().execute();
    await record({ ghlMessageId: 'ghl1' });
    await record({ ghlMessageId: 'ghl-duplicate' });
    expect(await repo.findOneByOrFail({ key })).toMatchObject({ result: { ghlMessageId: 'ghl1' } });
  });

  it('generates api key ids and enforces hash format and scope/location consistency', async () => {
    const repo = dataSource.getRepository(ApiKeyEntity);
    const keyHash = createHash('sha256').update('k1').digest('hex');
    const saved = await repo.save(
      repo.create({ keyHash, scope: 'location', locationId: 'locA', label: 'tenant' }),
    );
    expect(saved.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await repo.findOneByOrFail({ keyHash })).revokedAt).toBeNull();

    const other = createHash('sha256').update('k2').digest('hex');
    await expect(repo.insert({ keyHash: other, scope: 'location', locationId: null })).rejects.toMatchObject({
      code: CHECK_VIOLATION,
    });
    await expect(repo.insert({ keyHash: other, scope: 'admin', locationId: 'locA' })).rejects.toMatchObject({
      code: CHECK_VIOLATION,
    });
    await expect(repo.insert({ keyHash: 'NOT-HEX', scope: 'admin' })).rejects.toMatchObject({
      code: CHECK_VIOLATION,
    });
    await expect(repo.insert({ keyHash, scope: 'admin' })).rejects.toMatchObject({ code: UNIQUE_VIOLATION });
  });

  it('detects a replayed webhook id and tracks workers', async () => {
    const receipts = dataSource.getRepository(WebhookReceiptEntity);
    await receipts.insert({ webhookId: '1a533f85-1f1e-4886-891e-ee0cf4666e90' });
    await expect(
      receipts.insert({ webhookId: '1a533f85-1f1e-4886-891e-ee0cf4666e90' }),
    ).rejects.toMatchObject({
      code: UNIQUE_VIOLATION,
    });

    const workers = dataSource.getRepository(WorkerEntity);
    await workers.insert({ workerId: 'worker-1', capacity: 500 });
    expect(await workers.findOneByOrFail({ workerId: 'worker-1' })).toMatchObject({
      capacity: 500,
      ownedCount: 0,
      draining: false,
    });
  });
});
