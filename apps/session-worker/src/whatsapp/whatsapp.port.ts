import type { MessageContent } from '@app/contracts';
import type { Logger } from 'pino';

/**
 * The session worker's view of a WhatsApp connection. Only `baileys.adapter.ts` implements it with
 * Baileys; everything else (and every unit test) works against this interface, so the ESM-only Baileys
 * package never loads under Jest and the session logic does not depend on its event shapes.
 */

export interface WaParty {
  /** E.164, or null when WhatsApp gave only a LID. */
  phone: string | null;
  jid: string;
  lid: string | null;
  pushName: string | null;
}

export type WaReceiptStatus = 'sent' | 'delivered' | 'read' | 'played' | 'failed';

export type WhatsAppEvent =
  | { type: 'qr'; qr: string }
  | { type: 'open'; me: { phone: string; jid: string; lid: string | null; pushName: string | null } }
  | { type: 'close'; code: number; message: string }
  | {
      type: 'message';
      fromMe: boolean;
      waMessageId: string;
      chatJid: string;
      /** The other party: sender of an inbound message, recipient of one the number sent. */
      party: WaParty;
      sentAt: Date;
      content: MessageContent;
    }
  | { type: 'receipt'; waMessageId: string; chatJid: string; status: WaReceiptStatus; at: Date }
  | { type: 'contact'; party: WaParty }
  /** A credential write was refused because another worker holds a newer lease: close now. */
  | { type: 'fenced'; detail: string };

/** Opaque, already-serialised auth records; the store encrypts and fences them. */
export interface AuthRecordStore {
  readCreds(): Promise<Buffer | null>;
  readKeys(category: string, ids: string[]): Promise<Map<string, Buffer>>;
  /** All changes commit together or not at all; throws when the lease epoch is stale. */
  write(changes: { category: string; keyId: string; value: Buffer | null }[]): Promise<void>;
}

export interface WhatsAppConnectOptions {
  locationId: string;
  auth: AuthRecordStore;
  logger: Logger;
  onEvent: (event: WhatsAppEvent) => void;
  /** Lifetime of every QR; Baileys' default is 60 s for the first and 20 s for the rest. */
  qrTimeoutMs?: number;
  /**
   * Asked right before the socket is created (after the stored credentials are read, which can take
   * a while): false means the lease can no longer be trusted, and `connect` rejects with
   * `ConnectAbortedError` without opening anything.
   */
  mayOpen: () => boolean;
}

/** `connect` gave up before opening a socket because `mayOpen` said no. */
export class ConnectAbortedError extends Error {
  override readonly name = 'ConnectAbortedError';
}

/** The socket closed before or during a send; the same message (same id) may be sent again later. */
export class ConnectionClosedError extends Error {
  constructor(message = 'the WhatsApp connection is closed') {
    super(message);
    this.name = 'ConnectionClosedError';
  }
}

export interface WhatsAppConnection {
  /** Whether linked credentials exist (the session got past the QR once). */
  readonly paired: boolean;
  /** Rejects with `ConnectionClosedError` when the socket is (or gets) closed. */
  sendText(
    toPhone: string,
    text: string,
    waMessageId: string,
  ): Promise<{ waMessageId: string; sentAt: Date }>;
  requestPairingCode(phone: string): Promise<string>;
  /** Unlinks the device on WhatsApp's side, then closes. */
  logout(): Promise<void>;
  /** Closes the socket for good; no `close` event is reported for a close we asked for. */
  close(): Promise<void>;
}

export interface WhatsAppClient {
  connect(options: WhatsAppConnectOptions): Promise<WhatsAppConnection>;
}

export const WHATSAPP_CLIENT = Symbol('WHATSAPP_CLIENT');

/** `15550000001:3@s.whatsapp.net` → `+15550000001`; null for LIDs, groups and anything else. */
export function phoneFromJid(jid: string | null | undefined): string | null {
  const match = jid ? /^(\d{8,15})(?::\d+)?@s\.whatsapp\.net$/.exec(jid) : null;
  return match ? `+${match[1]}` : null;
}

export function jidFromPhone(phone: string): string {
  return `${phone.replace(/^\+/, '')}@s.whatsapp.net`;
}
