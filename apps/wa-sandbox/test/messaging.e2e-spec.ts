import { join } from 'node:path';
import { BaileysDriver, eventually, type OutboxMessage, type PairingResult } from '@app/wa-sandbox-client';
import { isClose, isOpen, pairSession, startHarness, type Harness } from './harness';

jest.setTimeout(120_000);

const ALICE = '15552000001';
const BOB = '15552000002';

describe('wa-sandbox messaging with real Baileys', () => {
  let h: Harness;
  let alice: PairingResult;
  let bobLid: string;

  beforeAll(async () => {
    h = await startHarness();
    alice = await pairSession(h, 'alice', ALICE, { name: 'Alice', authFile: join(h.dir, 'alice.json') });
    bobLid = (await h.sandbox.admin.ensureContact({ phone: BOB, name: 'Bob' })).lid;
  });

  afterAll(() => h?.stop());

  it("delivers a contact's text as messages.upsert with the sender's LID and phone number", async () => {
    const sent = await h.sandbox.admin.sendText({
      from: BOB,
      to: ALICE,
      text: 'hello from Bob',
      pushName: 'Bob',
    });
    expect(sent).toEqual({ id: sent.id, delivered: [alice.jid], queued: [] });
    const message = await h.driver.waitFor('message', (e) => e.session === 'alice' && e.key.id === sent.id);
    expect(message).toMatchObject({
      upsertType: 'notify',
      text: 'hello from Bob',
      pushName: 'Bob',
      key: {
        fromMe: false,
        remoteJid: `${bobLid}@lid`,
        remoteJidAlt: `${BOB}@s.whatsapp.net`,
        addressingMode: 'lid',
      },
    });
    // The next text rides the established session (a `msg`, not a `pkmsg`) and arrives as well.
    const second = await h.sandbox.admin.sendText({ from: BOB, to: ALICE, text: 'second' });
    await h.driver.waitFor(
      'message',
      (e) => e.session === 'alice' && e.key.id === second.id && e.text === 'second',
    );
  });

  it("decrypts an outgoing text in the outbox, for the recipient and for the account's own phone", async () => {
    const { lastSeq } = await h.sandbox.admin.outbox(ALICE);
    const { id } = await h.driver.sendText('alice', BOB, 'hi Bob, from real Baileys');
    const item = await eventually(async () => {
      const page = await h.sandbox.admin.outbox(ALICE, { after: lastSeq });
      return page.items.find((i): i is OutboxMessage => i.kind === 'message' && i.id === id);
    });
    expect(item).toMatchObject({
      from: alice.jid,
      to: `${BOB}@s.whatsapp.net`,
      toPhone: BOB,
      text: 'hi Bob, from real Baileys',
    });
    const recipient = item.copies.find((c) => c.role === 'recipient');
    const ownPhone = item.copies.find((c) => c.role === 'own-phone');
    expect(recipient).toMatchObject({
      message: { extendedTextMessage: { text: 'hi Bob, from real Baileys' } },
    });
    expect(ownPhone).toMatchObject({
      message: {
        deviceSentMessage: {
          destinationJid: `${BOB}@s.whatsapp.net`,
          message: { extendedTextMessage: { text: 'hi Bob, from real Baileys' } },
        },
      },
    });
    expect(item.copies.every((c) => c.error === undefined)).toBe(true);
  });

  it('acks an outgoing text and reports delivery (status 3), then the read receipt (status 4), to Baileys', async () => {
    const after = h.driver.mark();
    const { id } = await h.driver.sendText('alice', BOB, 'will you read this?');
    // The delivery receipt may be merged into the sender's own upsert (event buffering) or come as an update.
    const delivered = () =>
      h.driver.events
        .slice(after)
        .some(
          (e) =>
            (e.type === 'message' || e.type === 'message-update') && e.key.id === id && (e.status ?? 0) >= 3,
        );
    await eventually(() => (delivered() ? true : undefined), { what: 'delivery status' });
    const beforeRead = h.driver.mark();
    const { sent } = await h.sandbox.admin.sendReceipt({ from: BOB, to: ALICE, ids: [id], type: 'read' });
    expect(sent).toBe(1);
    const read = await h.driver.waitFor('message-update', (e) => e.key.id === id && e.status === 4, {
      after: beforeRead,
    });
    expect(read.key).toMatchObject({ fromMe: true, remoteJid: `${BOB}@s.whatsapp.net` });
  });

  it('keeps the read receipts the account sends in its outbox', async () => {
    const sent = await h.sandbox.admin.sendText({ from: BOB, to: ALICE, text: 'read me' });
    const message = await h.driver.waitFor('message', (e) => e.key.id === sent.id);
    await h.driver.read('alice', [message.key]);
    const receipt = await eventually(async () =>
      (await h.sandbox.admin.outboxAll(ALICE)).find((i) => i.kind === 'receipt' && i.ids.includes(sent.id)),
    );
    expect(receipt).toMatchObject({ kind: 'receipt', type: 'read', from: alice.jid, to: `${bobLid}@lid` });
  });

  it('queues texts for an offline device and delivers them at its next login, marked offline', async () => {
    await h.driver.end('alice');
    await eventually(async () =>
      (await h.sandbox.admin.account(ALICE)).devices[0].openConnections === 0 ? true : undefined,
    );
    const sent = await h.sandbox.admin.sendText({ from: BOB, to: ALICE, text: 'while you were away' });
    expect(sent).toEqual({ id: sent.id, delivered: [], queued: [alice.jid] });
    const after = h.driver.mark();
    await h.driver.connect('alice-again', { url: h.sandbox.wsUrl, authFile: join(h.dir, 'alice.json') });
    await h.driver.waitFor('connection', isOpen('alice-again'), { after });
    // Baileys upserts stanzas flagged `offline` as 'append', not 'notify'.
    const message = await h.driver.waitFor('message', (e) => e.key.id === sent.id, { after });
    expect(message).toMatchObject({
      session: 'alice-again',
      upsertType: 'append',
      text: 'while you were away',
    });
    expect(
      h.driver.events.slice(after).some((e) => e.type === 'connection' && isClose('alice-again')(e)),
    ).toBe(false);
  });

  it('counts messages in and out in the stats', async () => {
    const stats = await h.sandbox.admin.stats();
    // Four texts from Bob, two from Alice, one of Bob's queued while Alice was offline.
    expect(stats.messages).toMatchObject({ in: 4, out: 2, offlineQueued: 1, redelivered: 0 });
    expect(stats.messages.receiptsIn).toBe(1);
  });

  it('delivers again, at the next login, a text the connection took but never acknowledged', async () => {
    const DAVE = '15552000004';
    // A client of its own, so it can be frozen (it takes the text but cannot acknowledge it) and killed.
    const frozen = await BaileysDriver.start({ rootPublicKey: h.sandbox.rootPublicKey });
    const authFile = join(h.dir, 'dave.json');
    try {
      const dave = await pairSession({ ...h, driver: frozen }, 'dave', DAVE, { name: 'Dave', authFile });
      await frozen.saveAuth('dave');
      const pid = frozen.pid!;
      process.kill(pid, 'SIGSTOP');
      const sent = await h.sandbox.admin.sendText({ from: BOB, to: DAVE, text: 'in flight' });
      expect(sent.delivered).toEqual([dave.jid]);
      process.kill(pid, 'SIGKILL');
      await eventually(async () =>
        (await h.sandbox.admin.account(DAVE)).devices[0].openConnections === 0 ? true : undefined,
      );
      expect((await h.sandbox.admin.stats()).messages.redelivered).toBe(1);

      const after = h.driver.mark();
      await h.driver.connect('dave-again', { url: h.sandbox.wsUrl, authFile });
      const message = await h.driver.waitFor('message', (e) => e.key.id === sent.id, { after });
      expect(message).toMatchObject({ session: 'dave-again', upsertType: 'append', text: 'in flight' });
    } finally {
      await frozen.stop();
    }
  });

  it('does not deliver again what the connection acknowledged', async () => {
    const before = (await h.sandbox.admin.stats()).messages.redelivered;
    const sent = await h.sandbox.admin.sendText({ from: BOB, to: ALICE, text: 'taken and acknowledged' });
    await h.driver.waitFor('message', (e) => e.session === 'alice-again' && e.key.id === sent.id);
    await h.driver.end('alice-again');
    await eventually(async () =>
      (await h.sandbox.admin.account(ALICE)).devices[0].openConnections === 0 ? true : undefined,
    );
    expect((await h.sandbox.admin.stats()).messages.redelivered).toBe(before);
  });
});
