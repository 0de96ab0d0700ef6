/**
 * The only module that imports Baileys (ESM-only; loaded with Node 20's require(esm) in the built
 * app, never under Jest). It turns a Baileys socket into the `WhatsAppConnection` port and Baileys'
 * events into `WhatsAppEvent`s, and serialises auth state for the encrypted, fenced store.
 */
import {
  BufferJSON,
  DisconnectReason,
  downloadMediaMessage,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  makeWASocket,
  proto,
  type AuthenticationCreds,
  type SignalDataSet,
  type SignalDataTypeMap,
  type WAMessage,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import {
  ConnectAbortedError,
  ConnectionClosedError,
  phoneFromJid,
  jidFromPhone,
  type WaParty,
  type WaReceiptStatus,
  type WhatsAppClient,
  type WhatsAppConnectOptions,
  type WhatsAppConnection,
  type WhatsAppEvent,
} from './whatsapp.port';
import { mapMessageContent } from './message-content.mapper';
import { withStoredMedia, type MediaDownloadPolicy } from './media/inbound-media';
import { orderedEmitter } from './ordered-emitter';
import { pruneSessionRecord } from './signal-session-pruning';
import { adoptKeyTransactions, KeyTransactions, type TransactionalKeys } from './key-transactions';
import { isTransientDatabaseError } from '@app/persistence';

const CREDS_CATEGORY = 'creds';
// A creds write that fails for another reason than fencing (a full pool, a database restart) is tried
// this many times, 0.5 s apart and more: Baileys does not write creds again until they change.
const CREDS_WRITE_ATTEMPTS = 5;
const CREDS_RETRY_BASE_MS = 500;

const isFenced = (error: unknown) => (error as { name?: string }).name === 'FencedWriteError';

export interface BaileysClientOptions {
  /** WhatsApp's WebSocket endpoint; the sandbox's in tests and the local demo. */
  webSocketUrl: string;
  /** Baileys is chatty; its own log lines go to the app logger at this level and above. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  keepAliveIntervalMs: number;
  /** Where media bytes are stored for the sync (GHL attachments); without it messages carry metadata only. */
  media?: MediaDownloadPolicy;
}

function serialize(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, BufferJSON.replacer), 'utf8');
}

function deserialize<T>(bytes: Buffer): T {
  return JSON.parse(bytes.toString('utf8'), BufferJSON.reviver) as T;
}

function statusCodeOf(error: unknown): number {
  const output = (error as { output?: { statusCode?: unknown } } | undefined)?.output;
  return typeof output?.statusCode === 'number' ? output.statusCode : 500;
}

const RECEIPT_STATUS: Partial<Record<number, WaReceiptStatus>> = {
  [proto.WebMessageInfo.Status.ERROR]: 'failed',
  [proto.WebMessageInfo.Status.SERVER_ACK]: 'sent',
  [proto.WebMessageInfo.Status.DELIVERY_ACK]: 'delivered',
  [proto.WebMessageInfo.Status.READ]: 'read',
  [proto.WebMessageInfo.Status.PLAYED]: 'played',
};

/** Only one-to-one chats with people are bridged; groups, broadcasts and newsletters are not (yet). */
function isPersonalChat(jid: string | null | undefined): jid is string {
  return !!jid && (jid.endsWith('@s.whatsapp.net') || jid.endsWith('@lid'));
}

function partyOf(message: WAMessage): WaParty | null {
  const key = message.key;
  if (!isPersonalChat(key.remoteJid)) return null;
  const isLid = key.remoteJid.endsWith('@lid');
  // Baileys 7 addresses many chats by LID and gives the phone-number JID as the "alt" address.
  const pnJid = isLid ? (key.remoteJidAlt ?? null) : key.remoteJid;
  return {
    phone: phoneFromJid(pnJid),
    jid: pnJid ?? key.remoteJid,
    lid: isLid ? key.remoteJid : (key.remoteJidAlt ?? null),
    pushName: key.fromMe ? null : (message.pushName ?? null),
  };
}

/** Events about messages WhatsApp delivered (and Baileys acknowledged): never dropped, even while closing. */
const DELIVERED_EVENTS: ReadonlySet<WhatsAppEvent['type']> = new Set(['message', 'receipt', 'contact']);

class BaileysConnection implements WhatsAppConnection {
  private closing = false;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WASocket,
    private readonly creds: AuthenticationCreds,
  ) {}

  get paired(): boolean {
    return !!this.creds.me?.id;
  }

  markClosing(): void {
    this.closing = true;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Auth writes of one session run one after another, in the order Baileys made them. */
  enqueueWrite(write: () => Promise<void>): Promise<void> {
    const next = this.writes.then(write);
    this.writes = next.catch(() => undefined);
    return next;
  }

  async sendText(toPhone: string, text: string, waMessageId: string) {
    if (this.closing) throw new ConnectionClosedError();
    let sent: WAMessage | undefined;
    try {
      // Baileys encrypts a send under a lock of its own and decrypts an incoming message under the
      // sender's: a reply going out while the contact's next message comes in would update the same
      // Signal session twice at once, the later write wins, and the contact's following messages no
      // longer decrypt ("No matching sessions"). The message lock serialises the two.
      sent = await this.socket.messageMutex.mutex(() =>
        this.socket.sendMessage(jidFromPhone(toPhone), { text }, { messageId: waMessageId }),
      );
    } catch (error) {
      if (this.closing || statusCodeOf(error) === DisconnectReason.connectionClosed)
        throw new ConnectionClosedError(
          `the WhatsApp connection closed during the send: ${(error as Error).message}`,
        );
      throw error;
    }
    const seconds = Number(sent?.messageTimestamp ?? 0);
    return {
      waMessageId: sent?.key.id ?? waMessageId,
      sentAt: seconds ? new Date(seconds * 1000) : new Date(),
    };
  }

  async requestPairingCode(phone: string): Promise<string> {
    return this.socket.requestPairingCode(phone.replace(/^\+/, ''));
  }

  async logout(): Promise<void> {
    this.closing = true;
    try {
      await this.socket.logout();
    } finally {
      await this.socket.end(undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Baileys holds events back while it works through a login's offline batch, and ending the socket
    // destroys what it holds: messages it has already acknowledged to WhatsApp, which no one would
    // deliver again. Let them out first.
    this.socket.ev.flush();
    await this.socket.end(undefined);
    // Let queued auth writes finish so the next owner reads complete state.
    await this.writes;
  }
}

export class BaileysWhatsAppClient implements WhatsAppClient {
  constructor(private readonly options: BaileysClientOptions) {}

  async connect(options: WhatsAppConnectOptions): Promise<WhatsAppConnection> {
    const { auth, onEvent } = options;
    const log = options.logger;
    const storedCreds = await auth.readCreds();
    const creds = storedCreds ? deserialize<AuthenticationCreds>(storedCreds) : initAuthCreds();
    // The lease was checked before the read; a slow read must not open a socket on a lapsed lease.
    if (!options.mayOpen()) {
      throw new ConnectAbortedError(`the lease of ${options.locationId} is no longer trusted`);
    }
    const emit = (event: WhatsAppEvent) => {
      // A closing socket's lifecycle events are noise, but what WhatsApp delivered is reported still.
      if (!connection?.isClosing || DELIVERED_EVENTS.has(event.type)) onEvent(event);
    };
    const reportWriteFailure = (error: unknown) => {
      if (isFenced(error)) {
        emit({ type: 'fenced', detail: (error as Error).message });
      } else {
        log.error({ err: error }, 'auth state write failed');
      }
    };

    const keyStore = {
      get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
        const found = await auth.readKeys(type, ids);
        const result: { [id: string]: SignalDataTypeMap[T] } = {};
        for (const [id, bytes] of found) {
          let value = deserialize<SignalDataTypeMap[T]>(bytes);
          if (type === 'app-state-sync-key' && value) {
            value = proto.Message.AppStateSyncKeyData.fromObject(
              value as Record<string, unknown>,
            ) as unknown as SignalDataTypeMap[T];
          }
          result[id] = value;
        }
        return result;
      },
      set: async (data: SignalDataSet) => {
        const changes: { category: string; keyId: string; value: Buffer | null }[] = [];
        for (const [category, entries] of Object.entries(data)) {
          for (const [keyId, value] of Object.entries(entries ?? {})) {
            // In place: Baileys' key cache holds this same object, so it stays bounded too.
            if (category === 'session' && value) pruneSessionRecord(value);
            changes.push({ category, keyId, value: value ? serialize(value) : null });
          }
        }
        if (changes.length === 0) return;
        try {
          await auth.write(changes);
        } catch (error) {
          // A database outage is retried by the key transactions (and logged there), not reported here.
          if (!isTransientDatabaseError(error)) reportWriteFailure(error);
          throw error;
        }
      },
    };

    const baileysLogger = log.child({ component: 'baileys' }, { level: this.options.logLevel });
    const cachedKeys = makeCacheableSignalKeyStore(keyStore, baileysLogger);
    const socket = makeWASocket({
      auth: { creds, keys: cachedKeys },
      logger: baileysLogger,
      waWebSocketUrl: this.options.webSocketUrl,
      qrTimeout: options.qrTimeoutMs,
      keepAliveIntervalMs: this.options.keepAliveIntervalMs,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      // Old chats are not bridged, and waiting for RECENT history would hold the first open up to
      // 20 s; the bootstrap and push-name syncs still run, as they carry the LID mappings.
      shouldSyncHistoryMessage: ({ syncType }) =>
        syncType !== proto.HistorySync.HistorySyncType.FULL &&
        syncType !== proto.HistorySync.HistorySyncType.RECENT,
      getMessage: async () => undefined,
    });
    const connection = new BaileysConnection(socket, creds);
    let socketEnded = false;
    adoptKeyTransactions(
      socket.authState.keys as unknown as TransactionalKeys,
      new KeyTransactions(cachedKeys as unknown as TransactionalKeys, {
        isTransient: isTransientDatabaseError,
        isLive: () => !connection.isClosing && !socketEnded,
        // The first failure and every tenth after it: an outage of seconds is a line, not a flood.
        onRetry: (what, attempt, err) => {
          if (attempt % 10 === 1)
            log.warn({ err, attempt }, `Signal key ${what} failed: the database is unavailable; retrying`);
        },
      }),
    );

    // Writes the creds as they are now; each try serialises them again, so a retry stores the latest.
    const writeCreds = async (): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          await auth.write([{ category: CREDS_CATEGORY, keyId: '', value: serialize(creds) }]);
          return;
        } catch (error) {
          if (isFenced(error) || connection.isClosing || attempt >= CREDS_WRITE_ATTEMPTS) throw error;
          log.warn({ err: error, attempt }, 'creds write failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, CREDS_RETRY_BASE_MS * attempt));
        }
      }
    };
    socket.ev.on('creds.update', (update) => {
      Object.assign(creds, update);
      connection.enqueueWrite(writeCreds).catch(reportWriteFailure);
    });

    socket.ev.on('connection.update', (update) => {
      if (update.qr) emit({ type: 'qr', qr: update.qr });
      if (update.connection === 'open') {
        const me = creds.me;
        const phone = phoneFromJid(me?.id);
        if (me && phone) {
          emit({ type: 'open', me: { phone, jid: me.id, lid: me.lid ?? null, pushName: me.name ?? null } });
        }
      }
      if (update.connection === 'close') {
        socketEnded = true;
        const error = update.lastDisconnect?.error;
        emit({ type: 'close', code: statusCodeOf(error), message: error?.message ?? 'connection closed' });
      }
    });

    // Message events leave in WhatsApp's order even while a media download runs: each batch waits for
    // the one before it (media bytes are fetched in parallel, emitted in turn).
    const emitInOrder = orderedEmitter(emit, (err) =>
      log.error({ err }, 'could not report WhatsApp messages'),
    );
    const media = this.options.media;
    const contentOf = (message: WAMessage, id: string) => {
      const content = mapMessageContent(message.message);
      if (!content || content.kind !== 'media' || !media || media.maxBytes === 0) return content;
      return withStoredMedia(
        content,
        { locationId: options.locationId, waMessageId: id },
        () =>
          downloadMediaMessage(
            message,
            'buffer',
            {},
            {
              logger: baileysLogger,
              reuploadRequest: (m) => socket.updateMediaMessage(m),
            },
          ),
        media,
        log,
      );
    };

    socket.ev.on('messages.upsert', ({ messages }) => {
      const batch: Promise<WhatsAppEvent[]>[] = [];
      for (const message of messages) {
        const events: Promise<WhatsAppEvent>[] = [];
        const party = partyOf(message);
        const id = message.key.id;
        const content = party && id ? contentOf(message, id) : null;
        if (party && content && id) {
          const seconds = Number(message.messageTimestamp ?? 0);
          const sentAt = seconds ? new Date(seconds * 1000) : new Date();
          const fromMe = !!message.key.fromMe;
          events.push(
            Promise.resolve(content).then((c) => ({
              type: 'message' as const,
              fromMe,
              waMessageId: id,
              chatJid: party.jid,
              party,
              sentAt,
              content: c,
            })),
          );
          if (!fromMe) events.push(Promise.resolve({ type: 'contact' as const, party }));
        }
        // A receipt can arrive while the upsert is still buffered; Baileys then merges it in here.
        const status =
          message.key.fromMe && message.status != null ? RECEIPT_STATUS[message.status] : undefined;
        if (party && id && status && status !== 'sent') {
          events.push(
            Promise.resolve({
              type: 'receipt' as const,
              waMessageId: id,
              chatJid: party.jid,
              status,
              at: new Date(),
            }),
          );
        }
        batch.push(Promise.all(events));
      }
      emitInOrder(Promise.all(batch).then((lists) => lists.flat()));
    });

    socket.ev.on('messages.update', (updates) => {
      const events: WhatsAppEvent[] = [];
      for (const { key, update } of updates) {
        const status = update.status != null ? RECEIPT_STATUS[update.status] : undefined;
        if (!status || !key.id || !key.fromMe || !isPersonalChat(key.remoteJid)) continue;
        const chatJid = key.remoteJid.endsWith('@lid') ? (key.remoteJidAlt ?? key.remoteJid) : key.remoteJid;
        events.push({ type: 'receipt', waMessageId: key.id, chatJid, status, at: new Date() });
      }
      if (events.length > 0) emitInOrder(Promise.resolve(events));
    });

    return connection;
  }
}

export function createBaileysClient(options: BaileysClientOptions, logger: Logger): WhatsAppClient {
  logger.info({ webSocketUrl: options.webSocketUrl }, 'WhatsApp client: Baileys');
  return new BaileysWhatsAppClient(options);
}
