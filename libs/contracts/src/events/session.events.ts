import { z } from 'zod';
import { e164Schema, isoDateTimeSchema } from '../ids';

/**
 * The states a WhatsApp session moves through. Terminal states (`logged_out`, `forbidden`,
 * `qr_timeout`, `failed`, `stopped`) stay put until a new start command.
 */
export const SESSION_STATES = [
  'stopped',
  'starting',
  'qr',
  'connecting',
  'open',
  'reconnecting',
  'logged_out',
  'forbidden',
  'qr_timeout',
  'failed',
] as const;
export const sessionStateSchema = z.enum(SESSION_STATES);
export type SessionState = z.infer<typeof sessionStateSchema>;

const workerIdSchema = z.string().min(1).max(200);
const disconnectCodeSchema = z.number().int().min(0).max(9999);
const reasonSchema = z.string().min(1).max(500);

export const sessionQrPayloadSchema = z.object({
  /** The raw QR string Baileys emitted; the api renders it as PNG/SVG. Not a secret on its own. */
  qr: z.string().min(1).max(2000),
  /** 1-based index of this QR within the current connect attempt. */
  attempt: z.number().int().positive(),
  expiresAt: isoDateTimeSchema,
  workerId: workerIdSchema,
});

export const sessionReadyPayloadSchema = z.object({
  phone: e164Schema,
  jid: z.string().min(1).max(200),
  lid: z.string().min(1).max(200).nullable(),
  pushName: z.string().max(200).nullable(),
  workerId: workerIdSchema,
});

export const sessionDisconnectedPayloadSchema = z.object({
  code: disconnectCodeSchema,
  reason: reasonSchema,
  willReconnect: z.boolean(),
  /** Delay before the next attempt, when `willReconnect`. */
  reconnectInMs: z.number().int().nonnegative().nullable(),
  workerId: workerIdSchema,
});

export const sessionLoggedOutPayloadSchema = z.object({
  code: disconnectCodeSchema,
  reason: reasonSchema,
  workerId: workerIdSchema,
});

export const sessionStateChangedPayloadSchema = z.object({
  state: sessionStateSchema,
  previous: sessionStateSchema.nullable(),
  code: disconnectCodeSchema.nullable(),
  reason: reasonSchema,
  workerId: workerIdSchema.nullable(),
});

export const sessionPairingCodePayloadSchema = z.object({
  phone: e164Schema,
  /** Shown to the user to type on the phone; 8 characters. */
  code: z.string().regex(/^[A-Z0-9]{8}$/),
  expiresAt: isoDateTimeSchema,
  workerId: workerIdSchema,
});
