import type { Logger } from 'pino';
import {
  makeWASocket,
  toNumber,
  type proto,
  type WAMessage,
  type WAMessageKey,
} from '@whiskeysockets/baileys';
import {
  WaSandboxAdminClient,
  WaSandboxAdminError,
  type DriverConnectOptions,
  type DriverEvent,
  type DriverMessageKey,
  type DriverSessionInfo,
} from '@app/wa-sandbox-client';
import { DriverAuthStore } from './driver-auth-store';

type WASocket = ReturnType<typeof makeWASocket>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event as a session reports it; the driver stamps `t`. */
export type SessionEventOut = DistributiveOmit<DriverEvent, 't'>;

function statusCodeOf(error: unknown): number | undefined {
  const output = (error as { output?: { statusCode?: unknown } } | undefined)?.output;
  return typeof output?.statusCode === 'number' ? output.statusCode : undefined;
}

function toJid(to: string): string {
  return /^\d+$/.test(to) ? `${to}@s.whatsapp.net` : to;
}

function keyOf(key: WAMessageKey): DriverMessageKey {
  return {
    remoteJid: key.remoteJid,
    remoteJidAlt: key.remoteJidAlt,
    fromMe: key.fromMe,
    id: key.id,
    participant: key.participant,
    addressingMode: key.addressingMode,
  };
}

function textOf(message: proto.IMessage | null | undefined): string | undefined {
  return message?.conversation ?? message?.extendedTextMessage?.text ?? undefined;
}

function protocolOf(message: proto.IMessage | null | undefined): string | undefined {
  const protocol = message?.protocolMessage;
  if (!protocol) return undefined;
  if (protocol.historySyncNotification) return 'historySyncNotification';
  if (protocol.appStateSyncKeyShare) return 'appStateSyncKeyShare';
  return `protocolMessage:${protocol.type ?? '?'}`;
}

/**
 * One companion driven by the driver process: a Baileys socket over an auth store, reconnected on the
 * codes the caller chose (515 by default, as every Baileys wrapper must), reporting what happens.
 */
export class DriverSession {
  private socket?: WASocket;
  private attempt = 0;
  private stopped = false;
  private connection: DriverSessionInfo['connection'] = 'connecting';
  private readonly startedAt = Date.now();
  private readonly auth: DriverAuthStore;
  private paired: boolean;

  constructor(
    readonly name: string,
    private readonly options: DriverConnectOptions,
    private readonly emit: (event: SessionEventOut) => void,
    private readonly baileysLogger: Logger,
  ) {
    this.auth = DriverAuthStore.load(options.authFile);
    this.paired = !!this.auth.creds.me?.lid;
  }

  get isOpen(): boolean {
    return this.connection === 'open';
  }

  start(): void {
    this.open();
  }

  /** A new socket with the same creds; refused while the current one is not closed. */
  reconnect(): void {
    if (this.connection !== 'close')
      throw new Error(`session ${this.name} is ${this.connection}, not closed`);
    this.stopped = false;
    this.open();
  }

  async sendText(to: string, text: string): Promise<{ id: string }> {
    const message = await this.requireSocket().sendMessage(toJid(to), { text });
    return { id: message?.key.id ?? '' };
  }

  async read(keys: DriverMessageKey[]): Promise<void> {
    await this.requireSocket().readMessages(keys as WAMessageKey[]);
  }

  async requestPairingCode(phone: string): Promise<{ code: string }> {
    return { code: await this.requireSocket().requestPairingCode(phone) };
  }

  async logout(): Promise<void> {
    this.stopped = true;
    await this.requireSocket().logout();
  }

  /** Closes the socket (no logout, no reconnect) and writes the auth file. */
  end(): void {
    this.stopped = true;
    void this.socket?.end(undefined);
    this.auth.save();
  }

  saveAuth(): void {
    this.auth.save();
  }

  info(): DriverSessionInfo {
    const me = this.auth.creds.me;
    return {
      session: this.name,
      connection: this.connection,
      ...(me ? { me: { id: me.id, lid: me.lid, name: me.name } } : {}),
      accountSyncCounter: this.auth.creds.accountSyncCounter,
    };
  }

  private requireSocket(): WASocket {
    if (!this.socket) throw new Error(`session ${this.name} has no socket`);
    return this.socket;
  }

  private since(): number {
    return Date.now() - this.startedAt;
  }

  private open(): void {
    const attempt = ++this.attempt;
    let qrCount = 0;
    let scanned = false;
    const o = this.options;
    const socket = makeWASocket({
      auth: this.auth.state,
      logger: this.baileysLogger,
      waWebSocketUrl: o.url,
      qrTimeout: o.qrTimeoutMs,
      keepAliveIntervalMs: o.keepAliveIntervalMs ?? 30_000,
      connectTimeoutMs: o.connectTimeoutMs ?? 20_000,
      defaultQueryTimeoutMs: o.defaultQueryTimeoutMs ?? 60_000,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      ...(o.browser ? { browser: o.browser } : {}),
    });
    this.socket = socket;
    this.connection = 'connecting';
    socket.ev.on('creds.update', (update) => {
      this.auth.updateCreds(update);
      const me = this.auth.creds.me;
      // Baileys updates the same creds object itself, so "first time with a LID" is tracked here.
      if (!this.paired && me?.lid && update.me) {
        this.paired = true;
        this.emit({
          type: 'paired',
          session: this.name,
          sinceStartMs: this.since(),
          me: { id: me.id, lid: me.lid, name: me.name },
        });
      }
    });
    socket.ev.on('connection.update', (update) => {
      if (update.qr) {
        qrCount++;
        this.emit({
          type: 'qr',
          session: this.name,
          sinceStartMs: this.since(),
          qr: update.qr,
          count: qrCount,
        });
        if (o.autoScan && !scanned) {
          scanned = true;
          void this.autoScan(update.qr);
        }
      }
      if (update.receivedPendingNotifications) {
        this.emit({ type: 'pending-notifications', session: this.name, sinceStartMs: this.since() });
      }
      if (update.connection)
        this.onConnection(socket, attempt, update.connection, update.lastDisconnect?.error);
    });
    socket.ev.on('messages.upsert', ({ messages, type }) => {
      for (const m of messages) this.emitMessage(m, type);
    });
    socket.ev.on('messages.update', (updates) => {
      for (const u of updates) {
        if (u.update.status === undefined || u.update.status === null) continue;
        this.emit({
          type: 'message-update',
          session: this.name,
          sinceStartMs: this.since(),
          key: keyOf(u.key),
          status: u.update.status,
        });
      }
    });
    socket.ev.on('messaging-history.set', (history) => {
      this.emit({
        type: 'history',
        session: this.name,
        sinceStartMs: this.since(),
        ...(history.syncType !== undefined && history.syncType !== null
          ? { syncType: history.syncType }
          : {}),
        chats: history.chats.length,
        contacts: history.contacts.length,
        messages: history.messages.length,
      });
    });
  }

  private onConnection(
    socket: WASocket,
    attempt: number,
    connection: 'connecting' | 'open' | 'close',
    error?: Error,
  ): void {
    if (socket !== this.socket) return;
    this.connection = connection;
    const statusCode = connection === 'close' ? statusCodeOf(error) : undefined;
    this.emit({
      type: 'connection',
      session: this.name,
      sinceStartMs: this.since(),
      connection,
      attempt,
      ...(statusCode !== undefined ? { statusCode } : {}),
      ...(connection === 'close' && error ? { error: error.message } : {}),
    });
    if (connection !== 'close') return;
    this.auth.save();
    const reconnectOn = this.options.reconnectOn ?? [515];
    if (!this.stopped && statusCode !== undefined && reconnectOn.includes(statusCode))
      setImmediate(() => this.open());
  }

  private emitMessage(m: WAMessage, upsertType: string): void {
    const text = textOf(m.message);
    const protocol = protocolOf(m.message);
    this.emit({
      type: 'message',
      session: this.name,
      sinceStartMs: this.since(),
      upsertType,
      key: keyOf(m.key),
      ...(m.pushName ? { pushName: m.pushName } : {}),
      ...(text !== undefined ? { text } : {}),
      ...(protocol ? { protocol } : {}),
      ...(m.status !== undefined && m.status !== null ? { status: m.status } : {}),
      ...(m.messageTimestamp ? { messageTimestamp: toNumber(m.messageTimestamp) } : {}),
    });
  }

  private async autoScan(qr: string): Promise<void> {
    const scan = this.options.autoScan;
    if (!scan) return;
    const admin = new WaSandboxAdminClient({ baseUrl: scan.adminUrl, token: scan.token });
    // A network hiccup is retried; an answer from the sandbox (even an error) is final.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.scanQr({ qr, phone: scan.phone, ...(scan.name ? { name: scan.name } : {}) });
        return;
      } catch (error) {
        const networkError = !(error instanceof WaSandboxAdminError);
        if (networkError && attempt < 3) continue;
        this.emit({
          type: 'log',
          level: 'warn',
          message: `${this.name}: auto-scan failed: ${(error as Error).message}`,
        });
        return;
      }
    }
  }
}
