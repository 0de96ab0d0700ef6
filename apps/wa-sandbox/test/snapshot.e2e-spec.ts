import { join } from 'node:path';
import { BaileysDriver, eventually, SandboxProcess, type OutboxMessage } from '@app/wa-sandbox-client';
import { isOpen, pairSession, startHarness, type Harness } from './harness';

jest.setTimeout(120_000);

const ALICE = '15554000001';
const BOB = '15554000002';

describe('wa-sandbox snapshot and restore', () => {
  let h: Harness;
  let restored: SandboxProcess | undefined;
  let driver: BaileysDriver | undefined;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await driver?.stop();
    await restored?.stop();
    await h?.stop();
  });

  it('lets a paired device log in to a fresh sandbox restored from a snapshot, and keep its Signal sessions', async () => {
    const authFile = join(h.dir, 'alice.json');
    const paired = await pairSession(h, 'alice', ALICE, { authFile, name: 'Alice' });
    const first = await h.sandbox.admin.sendText({
      from: BOB,
      to: ALICE,
      text: 'before the snapshot',
      pushName: 'Bob',
    });
    await h.driver.waitFor('message', (e) => e.key.id === first.id);
    await h.driver.end('alice');
    const snapshot = await h.sandbox.admin.snapshot();
    expect(snapshot).toMatchObject({ format: 'wa-sandbox-snapshot', version: 1 });

    restored = await SandboxProcess.start({ env: { LOG_LEVEL: 'warn' } });
    const result = await restored.admin.restore(snapshot);
    expect(result).toEqual({ accounts: 2, devices: 1, rootPublicKey: h.sandbox.rootPublicKey });
    expect(await restored.admin.trust()).toEqual({ rootPublicKey: h.sandbox.rootPublicKey });
    expect((await restored.admin.account(ALICE)).devices).toMatchObject([
      { deviceId: 1, jid: paired.jid, preKeys: 811 },
    ]);

    driver = await BaileysDriver.start({ rootPublicKey: result.rootPublicKey });
    await driver.connect('alice', { url: restored.wsUrl, authFile });
    await driver.waitFor('connection', isOpen('alice'));
    expect(driver.events.some((e) => e.type === 'qr')).toBe(false);

    // Bob's phone continues its Signal session with Alice's device; Alice writes back.
    const second = await restored.admin.sendText({ from: BOB, to: ALICE, text: 'after the restore' });
    const message = await driver.waitFor('message', (e) => e.key.id === second.id);
    expect(message.text).toBe('after the restore');
    const { id } = await driver.sendText('alice', BOB, 'still here');
    const item = await eventually(async () =>
      (await restored?.admin.outboxAll(ALICE))?.find(
        (i): i is OutboxMessage => i.kind === 'message' && i.id === id,
      ),
    );
    expect(
      item.copies
        .filter((c) => c.message)
        .map((c) => c.role)
        .sort(),
    ).toEqual(['own-phone', 'recipient']);
    expect(item.text).toBe('still here');
    const stats = await restored.admin.stats();
    expect(stats).toMatchObject({ pairings: 0, logins: 1 });
  });

  it('rejects a body that is not a snapshot', async () => {
    await expect(h.sandbox.admin.restore({ format: 'something-else' } as never)).rejects.toMatchObject({
      status: 400,
    });
  });

  it('requires the bearer token on every route but health', async () => {
    const health = await fetch(`${h.sandbox.adminUrl}/health`);
    expect(health.status).toBe(200);
    const anonymous = await fetch(`${h.sandbox.adminUrl}/snapshot`);
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`${h.sandbox.adminUrl}/stats`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });
});
