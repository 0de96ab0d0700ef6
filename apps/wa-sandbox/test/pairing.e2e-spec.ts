import { spawnSync } from 'node:child_process';
import { builtPaths, eventually, repoRoot } from '@app/wa-sandbox-client';
import { isClose, isOpen, pairSession, startHarness, type Harness } from './harness';

jest.setTimeout(120_000);

describe('wa-sandbox pairing with real Baileys', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(() => h?.stop());

  it('emits a QR per ref, rotating them, and closes with 408 when the refs run out', async () => {
    await h.sandbox.admin.updateSettings({ qrRefs: 3 });
    try {
      const after = h.driver.mark();
      await h.driver.connect('qr-only', { url: h.sandbox.wsUrl, qrTimeoutMs: 400 });
      const close = await h.driver.waitFor('connection', isClose('qr-only'), { after, timeoutMs: 20_000 });
      const qrs = h.driver.events
        .slice(after)
        .filter((e): e is Extract<typeof e, { type: 'qr' }> => e.type === 'qr' && e.session === 'qr-only');
      expect(qrs.map((q) => q.count)).toEqual([1, 2, 3]);
      const parts = qrs.map((q) => q.qr.split('#')[1].split(','));
      // A new ref each time; the companion's keys stay the same.
      expect(new Set(parts.map((p) => p[0])).size).toBe(3);
      expect(new Set(parts.map((p) => p.slice(1).join(','))).size).toBe(1);
      expect(qrs[0].qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#2@/);
      expect(qrs[2].sinceStartMs - qrs[1].sinceStartMs).toBeGreaterThanOrEqual(350);
      expect(close).toMatchObject({ statusCode: 408, error: 'QR refs attempts ended' });
    } finally {
      await h.sandbox.admin.updateSettings({ qrRefs: 6 });
    }
  });

  it('pairs by QR scan: pair-success, 515 restart, login, open, with the phone and LID Baileys was given', async () => {
    const after = h.driver.mark();
    const paired = await pairSession(h, 'alice', '15551000001', { name: 'Alice' });
    const events = h.driver.events.slice(after).filter((e) => 'session' in e && e.session === 'alice');
    const sequence = events
      .filter((e) => e.type === 'paired' || e.type === 'connection')
      .map((e) =>
        e.type === 'connection'
          ? `${e.connection}${e.statusCode ? `:${e.statusCode}` : ''}#${e.attempt}`
          : e.type,
      );
    expect(sequence).toEqual(['connecting#1', 'paired', 'close:515#1', 'connecting#2', 'open#2']);
    expect(paired).toMatchObject({ phone: '15551000001', deviceId: 1, jid: '15551000001:1@s.whatsapp.net' });
    expect(paired.lidJid).toBe(`${paired.lid}:1@lid`);
    const info = await h.driver.info('alice');
    expect(info.me).toEqual({ id: paired.jid, lid: paired.lidJid, name: 'Alice' });
    const account = await h.sandbox.admin.account('15551000001');
    expect(account.devices).toMatchObject([{ deviceId: 1, openConnections: 1, logins: 1, preKeys: 812 }]);
  });

  it("sends the phone's history sync after the first login, so Baileys does not wait 20 s to go online", async () => {
    const after = h.driver.mark();
    await pairSession(h, 'hist', '15551000002');
    const history = await h.driver.waitFor('history', (e) => e.session === 'hist', { after });
    expect(history.syncType).toBe(0); // INITIAL_BOOTSTRAP
    // Past AwaitingInitialSync, Baileys counts the sync; without the notification it would take 20 s.
    const info = await eventually(
      async () => {
        const i = await h.driver.info('hist');
        return i.accountSyncCounter > 0 ? i : undefined;
      },
      { timeoutMs: 10_000, what: 'accountSyncCounter > 0' },
    );
    expect(info.accountSyncCounter).toBe(1);
    const pending = await h.driver.waitFor('pending-notifications', (e) => e.session === 'hist', { after });
    expect(history.sinceStartMs - pending.sinceStartMs).toBeLessThan(10_000);
  });

  it('pairs by code: the companion asks for a code, the user types it on the phone', async () => {
    const after = h.driver.mark();
    await h.driver.connect('by-code', { url: h.sandbox.wsUrl });
    await h.driver.waitFor('qr', (e) => e.session === 'by-code', { after });
    const { code } = await h.driver.requestPairingCode('by-code', '15551000003');
    await eventually(async () =>
      (await h.sandbox.admin.pairingCodeRequests()).find((r) => r.phone === '15551000003'),
    );
    await expect(
      h.sandbox.admin.confirmPairingCode({ phone: '15551000003', code: 'ZZZZZZZZ' }),
    ).rejects.toMatchObject({
      status: 400,
    });
    const paired = await h.sandbox.admin.confirmPairingCode({ phone: '15551000003', code, name: 'Coder' });
    expect(paired).toMatchObject({ phone: '15551000003', deviceId: 1 });
    await h.driver.waitFor('connection', isOpen('by-code'), { after, timeoutMs: 30_000 });
    expect((await h.driver.info('by-code')).me?.id).toBe('15551000003:1@s.whatsapp.net');
  });

  it('refuses a scan of a QR whose ref was already used', async () => {
    const after = h.driver.mark();
    await h.driver.connect('twice', { url: h.sandbox.wsUrl });
    const { qr } = await h.driver.waitFor('qr', (e) => e.session === 'twice', { after });
    await h.sandbox.admin.scanQr({ qr, phone: '15551000004' });
    await expect(h.sandbox.admin.scanQr({ qr, phone: '15551000005' })).rejects.toMatchObject({ status: 404 });
  });
});

describe('trust preload', () => {
  const root = repoRoot();
  // Prints the root key the Baileys loaded in this process trusts.
  const script =
    "process.stdout.write(require('@whiskeysockets/baileys').WA_CERT_DETAILS.PUBLIC_KEY.toString('hex'))";
  const run = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['-r', builtPaths.trustPreload(root), '-e', script], {
      cwd: root,
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
    });

  it("does nothing without WA_SANDBOX_ROOT_PUBKEY: Baileys keeps WhatsApp's root key", () => {
    const result = run({ NODE_ENV: 'test' });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^[0-9a-f]{64}$/);
    expect(result.stdout).not.toBe('ab'.repeat(32));
  });

  it("makes Baileys trust the sandbox's root key, and says so in one line", () => {
    const result = run({ NODE_ENV: 'test', WA_SANDBOX_ROOT_PUBKEY: 'ab'.repeat(32) });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('ab'.repeat(32));
    expect(result.stderr).toMatch(/^wa-sandbox trust anchor active: .*abababab/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses to load with NODE_ENV=production, with or without the key', () => {
    for (const env of [{}, { WA_SANDBOX_ROOT_PUBKEY: 'ab'.repeat(32) }]) {
      const result = run({ NODE_ENV: 'production', ...env });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/refuses to load with NODE_ENV=production/);
    }
  });

  it('rejects a malformed key', () => {
    const result = run({ NODE_ENV: 'test', WA_SANDBOX_ROOT_PUBKEY: 'not-hex' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/64 hex characters/);
  });
});
