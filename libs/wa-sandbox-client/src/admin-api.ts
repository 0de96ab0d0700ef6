import { z } from 'zod';

/**
 * The WhatsApp sandbox's admin API: request schemas (validated by the sandbox, reused by the client)
 * and response types. This file is the single contract between `apps/wa-sandbox` and its callers; it
 * must never import Baileys, because Jest loads it.
 */

/** A phone number as WhatsApp writes it in a JID: digits only, country code first, no `+`. */
export const phoneSchema = z.string().regex(/^[1-9]\d{5,14}$/, 'phone must be 6-15 digits, no "+"');

export const faultKinds = ['replaced', 'restart', 'drop', 'logged_out', 'silence'] as const;
export type FaultKind = (typeof faultKinds)[number];

/** What Baileys reports (`lastDisconnect.error.output.statusCode`) for each injected fault. */
export const faultStatusCodes: Readonly<Record<FaultKind, number>> = {
  replaced: 440,
  restart: 515,
  drop: 428,
  logged_out: 401,
  silence: 408,
};

export const scanQrRequestSchema = z.object({
  /** The exact `qr` string Baileys emitted in `connection.update`. */
  qr: z.string().min(10),
  phone: phoneSchema,
  /** Display name of the account, shown to Baileys as `creds.me.name`. */
  name: z.string().min(1).max(100).optional(),
  /** `platform` Baileys records for the primary phone: `smba` (WhatsApp Business) by default. */
  platform: z.string().min(1).max(20).optional(),
});
export type ScanQrRequest = z.infer<typeof scanQrRequestSchema>;

export const confirmPairingCodeRequestSchema = z.object({
  phone: phoneSchema,
  /** The 8-character code Baileys' `requestPairingCode` returned, as the user types it on the phone. */
  code: z.string().min(8).max(9),
  name: z.string().min(1).max(100).optional(),
  platform: z.string().min(1).max(20).optional(),
});
export type ConfirmPairingCodeRequest = z.infer<typeof confirmPairingCodeRequestSchema>;

export const ensureContactRequestSchema = z.object({
  phone: phoneSchema,
  name: z.string().min(1).max(100).optional(),
});
export type EnsureContactRequest = z.infer<typeof ensureContactRequestSchema>;

export const sendTextRequestSchema = z.object({
  /** The contact (a simulated phone) that writes. Created on first use. */
  from: phoneSchema,
  /** The account whose linked devices receive the text. */
  to: phoneSchema,
  text: z.string().min(1).max(65_536),
  /** Message id; a fresh `3EB0…` id when omitted. */
  id: z
    .string()
    .regex(/^[0-9A-Za-z]{8,40}$/)
    .optional(),
  /** The push name Baileys sees in `pushName`; defaults to the contact's name. */
  pushName: z.string().min(1).max(100).optional(),
});
export type SendTextRequest = z.infer<typeof sendTextRequestSchema>;

export const receiptTypes = ['delivery', 'read'] as const;
export type ReceiptType = (typeof receiptTypes)[number];

export const sendReceiptRequestSchema = z.object({
  /** The contact that received (and maybe read) the messages. */
  from: phoneSchema,
  /** The account that sent them. */
  to: phoneSchema,
  ids: z.array(z.string().min(1).max(64)).min(1).max(100),
  type: z.enum(receiptTypes).default('read'),
});
export type SendReceiptRequest = z.input<typeof sendReceiptRequestSchema>;

export const injectFaultRequestSchema = z
  .object({
    kind: z.enum(faultKinds),
    /** Target one account's connections (all its devices, or only `deviceId`)... */
    phone: phoneSchema.optional(),
    deviceId: z.number().int().min(1).optional(),
    /** ...or this percentage of every logged-in connection, picked at random. */
    percent: z.number().min(0).max(100).optional(),
  })
  .refine((r) => (r.phone === undefined) !== (r.percent === undefined), {
    message: 'give exactly one of phone or percent',
  })
  .refine((r) => r.deviceId === undefined || r.phone !== undefined, { message: 'deviceId needs phone' });
export type InjectFaultRequest = z.infer<typeof injectFaultRequestSchema>;

export const settingsSchema = z.object({
  /** QR refs handed to each registering connection; Baileys shows one per `qrTimeout`. */
  qrRefs: z.number().int().min(1).max(20),
  /** The recipient's phone confirms delivery of every text an account sends. */
  autoDeliveryReceipts: z.boolean(),
  /** The primary phone sends the history-sync notification after a device's first login. */
  historySync: z.boolean(),
  /**
   * Like WhatsApp, drop a client that has sent nothing (not even a keep-alive ping) for this long;
   * 0 keeps every socket until the client closes it.
   */
  clientIdleTimeoutMs: z.number().int().min(0).max(3_600_000),
});
export type SandboxSettings = z.infer<typeof settingsSchema>;
export const updateSettingsRequestSchema = settingsSchema.partial();
export type UpdateSettingsRequest = z.infer<typeof updateSettingsRequestSchema>;

export const outboxQuerySchema = z.object({
  /** Only items with a sequence number above this one. */
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export interface OutboxQuery {
  after?: number;
  limit?: number;
}

// ---------------------------------------------------------------- responses

export interface PairingResult {
  phone: string;
  /** The account's LID user (without server), e.g. `100794822195921`. */
  lid: string;
  deviceId: number;
  /** `phone:device@s.whatsapp.net`, Baileys' `creds.me.id`. */
  jid: string;
  /** `lid:device@lid`, Baileys' `creds.me.lid`. */
  lidJid: string;
}

export interface PairingCodeRequestInfo {
  phone: string;
  requestedAt: string;
}

export interface DeviceSummary {
  deviceId: number;
  jid: string;
  lidJid: string;
  platform: string;
  linkedAt: string;
  /** Connections logged in as this device right now (more than 1 only for an instant). */
  openConnections: number;
  logins: number;
  doubleConnections: number;
  preKeys: number;
  offlineQueue: number;
}

export interface AccountSummary {
  phone: string;
  lid: string;
  name: string;
  createdAt: string;
  devices: DeviceSummary[];
}

export interface SendTextResult {
  id: string;
  /** Device JIDs the text was pushed to live. */
  delivered: string[];
  /** Device JIDs that were offline; the text waits in their offline queue until they log in. */
  queued: string[];
}

export interface SendReceiptResult {
  /** Number of `<receipt>` stanzas sent (one per connected device of the account). */
  sent: number;
}

/** One decrypted copy of an outgoing message, as one recipient phone saw it. */
export interface OutboxCopy {
  /** Recipient device JID as the client addressed it. */
  to: string;
  /** `recipient` for the addressee's phone, `own-phone` for the sender's own primary phone. */
  role: 'recipient' | 'own-phone' | 'not-simulated';
  encType?: string;
  /** The decoded `proto.Message` (protobuf JSON). */
  message?: unknown;
  error?: string;
}

export interface OutboxMessage {
  kind: 'message';
  seq: number;
  at: string;
  id: string;
  /** The sending device, `phone:device@s.whatsapp.net`. */
  from: string;
  /** The stanza's `to` (the chat), as the client wrote it: PN or LID. */
  to: string;
  /** The addressee's phone number, resolved from PN or LID. */
  toPhone?: string;
  /** Convenience: the text of the recipient's copy (`conversation` or `extendedTextMessage.text`). */
  text?: string;
  copies: OutboxCopy[];
}

export interface OutboxReceipt {
  kind: 'receipt';
  seq: number;
  at: string;
  /** `read`, `read-self`, `played`, ... exactly as the client sent it. */
  type: string;
  ids: string[];
  from: string;
  to: string;
}

export type OutboxItem = OutboxMessage | OutboxReceipt;

export interface OutboxPage {
  items: OutboxItem[];
  /** Pass as `after` to read on. */
  lastSeq: number;
}

export interface FaultResult {
  kind: FaultKind;
  affected: { phone: string; deviceId: number }[];
}

export interface UnlinkResult {
  phone: string;
  deviceId: number;
  /** A live connection was told `401 device_removed`. */
  wasConnected: boolean;
}

export interface DeviceStats {
  deviceId: number;
  open: number;
  logins: number;
  doubleConnections: number;
}

export interface AccountStats {
  phone: string;
  open: number;
  devices: DeviceStats[];
}

export interface SandboxStats {
  uptimeSeconds: number;
  process: {
    rssBytes: number;
    heapUsedBytes: number;
    cpuUserSeconds: number;
    cpuSystemSeconds: number;
    /** Event-loop delay over the last ~10 s. */
    eventLoopDelay: { p99Ms: number; maxMs: number };
  };
  accounts: number;
  devices: number;
  connections: {
    /** Sockets open now, whatever their stage. */
    open: number;
    /** Sockets logged in as a device now. */
    loggedIn: number;
    accepted: number;
    handshakeFailures: number;
  };
  logins: number;
  loginFailures: number;
  pairings: number;
  /** Times a login arrived while another connection of the same device was still open. */
  doubleConnections: number;
  faults: Record<FaultKind, number>;
  unlinks: number;
  /** Clients dropped for having sent nothing for `clientIdleTimeoutMs`. */
  idleDisconnects: number;
  messages: {
    in: number;
    out: number;
    offlineQueued: number;
    /** Messages a connection closed without acknowledging, delivered again (as WhatsApp does). */
    redelivered: number;
    receiptsIn: number;
    receiptsOut: number;
  };
  /** Per-account detail, only when asked for (`?detail=1` or `?phone=`). */
  perAccount?: AccountStats[];
}

export interface RestoreResult {
  accounts: number;
  devices: number;
  rootPublicKey: string;
}

export interface TrustInfo {
  /** Hex of the sandbox's Noise root public key: the value of `WA_SANDBOX_ROOT_PUBKEY`. */
  rootPublicKey: string;
}

/** The sandbox's whole state, as `GET /snapshot` returns it. Opaque to callers: store and give back. */
export interface SandboxSnapshot {
  format: 'wa-sandbox-snapshot';
  version: 1;
  createdAt: string;
  [key: string]: unknown;
}

export const snapshotHeaderSchema = z.looseObject({
  format: z.literal('wa-sandbox-snapshot'),
  version: z.literal(1),
  createdAt: z.string(),
});
