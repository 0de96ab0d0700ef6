/**
 * JSON-lines protocol of the Baileys driver process (apps/wa-sandbox/src/driver/baileys-driver.ts):
 * one command per stdin line, one event per stdout line. Baileys-free, so tests can speak it.
 */

export interface DriverAutoScan {
  adminUrl: string;
  token: string;
  phone: string;
  name?: string;
}

export interface DriverConnectOptions {
  /** The sandbox's WebSocket URL (`ws://127.0.0.1:8781/ws/chat`). */
  url: string;
  /** Keep the companion's creds and Signal keys in this JSON file (loaded if it exists); memory only when absent. */
  authFile?: string;
  /** Lifetime of each QR; Baileys' default is 60 s for the first, 20 s for the others. */
  qrTimeoutMs?: number;
  /** Baileys pings this often and gives up (408) after this plus 5 s of silence. Default 30 s. */
  keepAliveIntervalMs?: number;
  connectTimeoutMs?: number;
  defaultQueryTimeoutMs?: number;
  /** Close codes after which the driver reconnects at once with the same creds. Default `[515]`. */
  reconnectOn?: number[];
  /** Scan the first QR through the admin API as this phone (load runs and demos). */
  autoScan?: DriverAutoScan;
  /** Baileys' `[os, browser, version]`. */
  browser?: [string, string, string];
}

/** The subset of Baileys' `WAMessageKey` the driver passes through. */
export interface DriverMessageKey {
  remoteJid?: string | null;
  remoteJidAlt?: string | null;
  fromMe?: boolean | null;
  id?: string | null;
  participant?: string | null;
  addressingMode?: string | null;
}

export type DriverCommand =
  | { op: 'connect'; session: string; options: DriverConnectOptions }
  | { op: 'sendText'; session: string; to: string; text: string }
  | { op: 'read'; session: string; keys: DriverMessageKey[] }
  /** Opens a new socket with the session's creds (after a close the driver did not reconnect from). */
  | { op: 'reconnect'; session: string }
  /** Closes the socket without logging out; no reconnect. */
  | { op: 'end'; session: string }
  | { op: 'logout'; session: string }
  | { op: 'requestPairingCode'; session: string; phone: string }
  | { op: 'saveAuth'; session: string }
  | { op: 'info'; session: string }
  | { op: 'stats' }
  | { op: 'shutdown' };

export type DriverRequest = DriverCommand & { reqId: number };

export interface DriverStats {
  pid: number;
  sessions: number;
  open: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay over the last ~10 s; Baileys ends with 408 once it stalls past ~5 s. */
  eventLoopDelay: { p99Ms: number; maxMs: number };
}

export interface DriverSessionInfo {
  session: string;
  connection: 'connecting' | 'open' | 'close';
  me?: { id: string; lid?: string; name?: string };
  accountSyncCounter: number;
}

interface SessionEvent {
  session: string;
  /** Milliseconds since the session's `connect` command. */
  sinceStartMs: number;
}

export type DriverEvent = { t: number } & (
  | { type: 'ready'; pid: number }
  | { type: 'result'; reqId: number; ok: true; data?: unknown }
  | { type: 'result'; reqId: number; ok: false; error: string }
  | (SessionEvent & { type: 'qr'; qr: string; count: number })
  | (SessionEvent & {
      type: 'connection';
      connection: 'connecting' | 'open' | 'close';
      /** Socket number within the session: 1 for the first, +1 per reconnect. */
      attempt: number;
      statusCode?: number;
      error?: string;
    })
  | (SessionEvent & { type: 'paired'; me: { id: string; lid?: string; name?: string } })
  | (SessionEvent & { type: 'pending-notifications' })
  | (SessionEvent & {
      type: 'message';
      upsertType: string;
      key: DriverMessageKey;
      pushName?: string;
      text?: string;
      status?: number;
      messageTimestamp?: number;
      /** e.g. `historySyncNotification`, `appStateSyncKeyShare`, for peer protocol messages. */
      protocol?: string;
    })
  | (SessionEvent & { type: 'message-update'; key: DriverMessageKey; status?: number })
  | (SessionEvent & { type: 'history'; syncType?: number; chats: number; contacts: number; messages: number })
  | { type: 'log'; level: 'warn' | 'error'; message: string }
);

export type DriverEventOf<K extends DriverEvent['type']> = Extract<DriverEvent, { type: K }>;
