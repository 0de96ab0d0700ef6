import { randomBytes } from 'node:crypto';
import { encodeWAMessage, proto, unpadRandomMax16, type BinaryNode } from '@whiskeysockets/baileys';
import type {
  OutboxCopy,
  SendReceiptRequest,
  SendReceiptResult,
  SendTextRequest,
  SendTextResult,
} from '@app/wa-sandbox-client';
import type { Logger } from '../common/logger';
import { SandboxError } from '../common/sandbox-error';
import type { SettingsHolder } from '../common/settings';
import type { ClientConnection } from '../connection/client-connection';
import type { ConnectionRegistry } from '../connection/connection-registry';
import type { Account } from '../directory/account';
import type { AccountDirectory } from '../directory/account-directory';
import type { LinkedDevice } from '../directory/linked-device';
import { ackFor, child, children, contentBuffer, node, nowSeconds } from '../protocol/nodes';
import type { StatsCounters } from '../stats/stats-counters';

/** Receipt types that mean "the account read / played something": kept in the outbox. */
const RECORDED_RECEIPTS = new Set(['read', 'read-self', 'played', 'played-self']);
/** Texts the phones sent recently, so a device asking for a retry can get them again. */
const RECENT_INBOUND_LIMIT = 2_000;

interface InboundRecord {
  from: string;
  to: string;
  message: proto.IMessage;
  attrs: Record<string, string>;
}

export function newMessageId(): string {
  return `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
}

function textOf(message: proto.IMessage | null | undefined): string | undefined {
  if (!message) return undefined;
  return (
    message.conversation ??
    message.extendedTextMessage?.text ??
    textOf(message.deviceSentMessage?.message) ??
    undefined
  );
}

/**
 * Signal-encrypted traffic between the simulated phones and the companions: texts from contacts,
 * receipts, the decryption of everything a companion sends, acks, and delivery receipts.
 */
export class MessagingService {
  private readonly recentInbound = new Map<string, InboundRecord>();

  constructor(
    private readonly directory: AccountDirectory,
    private readonly registry: ConnectionRegistry,
    private readonly stats: StatsCounters,
    private readonly settings: SettingsHolder,
    private readonly logger: Logger,
  ) {}

  /** A contact's phone writes to an account: one encrypted copy per linked device, queued if offline. */
  async sendText(request: SendTextRequest): Promise<SendTextResult> {
    if (request.from === request.to)
      throw new SandboxError('bad_request', 'from and to are the same account');
    const account = this.directory.get(request.to);
    if (!account) throw new SandboxError('not_found', `no account ${request.to}`);
    const { account: contact } = this.directory.ensure(request.from, request.pushName);
    const id = request.id ?? newMessageId();
    // The server's timestamp is the message's: a resend after a retry receipt keeps it.
    const attrs = { id, type: 'text', notify: request.pushName ?? contact.name, t: nowSeconds() };
    const message: proto.IMessage = { conversation: request.text };
    this.remember(id, { from: contact.phone, to: account.phone, message, attrs });
    const result = await this.deliverFromPhone(contact, [...account.devices.values()], message, attrs);
    this.stats.messagesIn++;
    return { id, ...result };
  }

  /** A contact confirms delivery or reading of messages the account sent. */
  sendReceipt(request: SendReceiptRequest): SendReceiptResult {
    const account = this.directory.get(request.to);
    if (!account) throw new SandboxError('not_found', `no account ${request.to}`);
    const contact = this.directory.get(request.from);
    if (!contact) throw new SandboxError('not_found', `no contact ${request.from}`);
    const [first, ...rest] = request.ids;
    // Answer from the address the account wrote to (PN or LID), as the real server does.
    const chat = account.outbox.findMessage(first)?.to ?? contact.pnJid;
    const attrs: Record<string, string> = { from: chat, id: first, t: nowSeconds() };
    if (request.type === 'read') attrs.type = 'read';
    const content = rest.length
      ? [
          node(
            'list',
            {},
            rest.map((id) => node('item', { id })),
          ),
        ]
      : undefined;
    let sent = 0;
    for (const device of account.devices.values()) {
      for (const connection of this.registry.liveFor(device)) {
        connection.send(node('receipt', attrs, content));
        sent++;
      }
    }
    this.stats.receiptsIn += sent;
    return { sent };
  }

  /**
   * The account's own primary phone sends a peer message (history sync, app-state keys) to one of its
   * devices; Baileys accepts those only from its own account.
   */
  async sendFromOwnPhone(account: Account, device: LinkedDevice, message: proto.IMessage): Promise<void> {
    await this.deliverFromPhone(account, [device], message, {
      id: newMessageId(),
      type: 'text',
      category: 'peer',
    });
  }

  /** A `<message>` from a logged-in companion: decrypt each copy meant for a simulated phone, ack it. */
  async onOutgoingMessage(connection: ClientConnection, stanza: BinaryNode): Promise<void> {
    const sender = connection.account;
    const senderDevice = connection.device;
    if (!sender || !senderDevice) return;
    const to = stanza.attrs.to ?? '';
    const id = stanza.attrs.id ?? '';
    const participants = child(stanza, 'participants');
    const targets = participants
      ? children(participants, 'to').map((t) => ({ jid: t.attrs.jid ?? '', enc: child(t, 'enc') }))
      : [{ jid: stanza.attrs.to ?? '', enc: child(stanza, 'enc') }];
    const copies: OutboxCopy[] = [];
    for (const target of targets)
      copies.push(await this.openCopy(sender, senderDevice, target.jid, target.enc));
    const chat = this.directory.resolveJid(to);
    const recipientCopy =
      copies.find((c) => c.role === 'recipient' && c.message) ?? copies.find((c) => c.message);
    sender.outbox.add({
      kind: 'message',
      id,
      from: senderDevice.jid,
      to,
      ...(chat ? { toPhone: chat.account.phone } : {}),
      ...(recipientCopy ? { text: textOf(recipientCopy.message as proto.IMessage) } : {}),
      copies,
    });
    this.stats.messagesOut++;
    connection.send(node('ack', { class: 'message', id, from: to, t: nowSeconds() }));
    const isPeer = stanza.attrs.category === 'peer';
    const delivered = copies.some((c) => c.role === 'recipient' && c.message);
    if (
      this.settings.current.autoDeliveryReceipts &&
      !isPeer &&
      delivered &&
      chat &&
      chat.account !== sender
    ) {
      // The recipient's phone is online and confirms delivery to every device of the sender.
      for (const device of sender.devices.values()) {
        for (const live of this.registry.liveFor(device)) {
          live.send(node('receipt', { from: to, id, t: nowSeconds() }));
        }
      }
    }
  }

  /** A `<receipt>` from a companion: ack it, keep reads in the outbox, re-send on a retry request. */
  async onClientReceipt(connection: ClientConnection, stanza: BinaryNode): Promise<void> {
    connection.send(ackFor(stanza, { from: stanza.attrs.to ?? 's.whatsapp.net' }));
    this.stats.receiptsOut++;
    const type = stanza.attrs.type ?? 'delivery';
    const ids = [
      stanza.attrs.id ?? '',
      ...children(child(stanza, 'list'), 'item').map((i) => i.attrs.id ?? ''),
    ];
    connection.acknowledged(ids);
    if (RECORDED_RECEIPTS.has(type) && connection.account && connection.device) {
      connection.account.outbox.add({
        kind: 'receipt',
        type,
        ids,
        from: connection.device.jid,
        to: stanza.attrs.to ?? '',
      });
    }
    if (type === 'retry' && connection.device) await this.resend(connection.device, ids[0]);
  }

  /**
   * A connection closed with messages it never acknowledged: like WhatsApp, the server delivers them
   * again, to another live connection of the device now, or at its next login.
   */
  redeliverUnacked(connection: ClientConnection): void {
    const device = connection.device;
    const stanzas = connection.takeUnacked();
    if (!device || stanzas.length === 0) return;
    this.stats.redelivered += stanzas.length;
    const live = this.registry.liveFor(device).find((c) => c !== connection && !c.isMuted);
    if (live) {
      for (const stanza of stanzas) live.deliver({ ...stanza, attrs: { ...stanza.attrs, offline: '1' } });
    } else {
      device.requeueOffline(stanzas);
    }
    this.logger.info(
      { conn: connection.id, jid: device.jid, messages: stanzas.length },
      'unacknowledged messages delivered again',
    );
  }

  /** Encrypts `message` from `sender`'s phone for each device; live devices get it now, others later. */
  private async deliverFromPhone(
    sender: Account,
    devices: readonly LinkedDevice[],
    message: proto.IMessage,
    attrs: Record<string, string>,
  ): Promise<{ delivered: string[]; queued: string[] }> {
    const delivered: string[] = [];
    const queued: string[] = [];
    const plaintext = encodeWAMessage(message);
    for (const device of devices) {
      const { type, ciphertext } = await sender.primaryPhone.encrypt(device.lidJid, plaintext, () =>
        device.takeKeyBundle(),
      );
      const stanza = node(
        'message',
        {
          from: sender.lidJid,
          sender_pn: sender.pnJid,
          addressing_mode: 'lid',
          t: nowSeconds(),
          ...attrs,
        },
        [node('enc', { v: '2', type }, ciphertext)],
      );
      // A silenced connection would swallow the text; like an unacked stanza it waits for the next login.
      const live = this.registry.liveFor(device).find((c) => !c.isMuted);
      if (live) {
        live.deliver(stanza);
        delivered.push(device.jid);
      } else {
        device.enqueueOffline(stanza);
        this.stats.offlineQueued++;
        queued.push(device.jid);
      }
    }
    return { delivered, queued };
  }

  private async openCopy(
    sender: Account,
    senderDevice: LinkedDevice,
    jid: string,
    enc: BinaryNode | undefined,
  ): Promise<OutboxCopy> {
    const target = this.directory.resolveJid(jid);
    const ciphertext = contentBuffer(enc);
    const encType = enc?.attrs.type;
    if (!target || target.deviceId !== 0 || !ciphertext || (encType !== 'pkmsg' && encType !== 'msg')) {
      // Another companion (not relayed by the sandbox) or a group/unknown cipher.
      return { to: jid, role: 'not-simulated', ...(encType ? { encType } : {}) };
    }
    const role = target.account === sender ? 'own-phone' : 'recipient';
    try {
      const plaintext = await target.account.primaryPhone.decrypt(senderDevice.lidJid, encType, ciphertext);
      const message = proto.Message.decode(unpadRandomMax16(plaintext));
      return { to: jid, role, encType, message: message.toJSON() };
    } catch (error) {
      this.logger.warn(
        { to: jid, from: senderDevice.jid, err: (error as Error).message },
        'could not decrypt a copy',
      );
      return { to: jid, role, encType, error: (error as Error).message };
    }
  }

  /** The device could not decrypt a text from a phone: start a fresh session and send it again. */
  private async resend(device: LinkedDevice, id: string): Promise<void> {
    const record = this.recentInbound.get(id);
    const sender = record && this.directory.get(record.from);
    if (!record || !sender || record.to !== device.phone) return;
    this.logger.info({ id, device: device.jid }, 'retry receipt: re-encrypting with a fresh session');
    await sender.primaryPhone.forgetSession(device.lidJid);
    await this.deliverFromPhone(sender, [device], record.message, record.attrs);
  }

  private remember(id: string, record: InboundRecord): void {
    this.recentInbound.set(id, record);
    if (this.recentInbound.size > RECENT_INBOUND_LIMIT) {
      const oldest = this.recentInbound.keys().next().value;
      if (oldest !== undefined) this.recentInbound.delete(oldest);
    }
  }
}
