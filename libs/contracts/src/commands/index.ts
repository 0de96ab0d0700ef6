import { z } from 'zod';
import { Envelope, EnvelopeMeta, envelopeSchema, newEnvelopeHeader } from '../envelope';
import { parseWith } from '../events';
import { e164Schema, isoDateTimeSchema, opaqueIdSchema } from '../ids';
import { messageContentSchema, sessionStateSchema } from '../events';

const emptySchema = z.object({}).strict();
const sessionStateResultSchema = z.object({ state: sessionStateSchema, workerId: z.string().nullable() });

/**
 * Request/reply commands. Session commands go to the worker that owns the location's session
 * (`cmd.<locationId>.<type>`); `session.start` for an unowned session is answered by whichever
 * worker claims it. `scope: 'global'` commands concern no single location (`cmd._global.<type>`).
 */
export const COMMANDS = {
  'session.start': { version: 1, scope: 'location', payload: emptySchema, result: sessionStateResultSchema },
  'session.stop': { version: 1, scope: 'location', payload: emptySchema, result: sessionStateResultSchema },
  'session.logout': { version: 1, scope: 'location', payload: emptySchema, result: sessionStateResultSchema },
  'session.restart': {
    version: 1,
    scope: 'location',
    payload: emptySchema,
    result: sessionStateResultSchema,
  },
  'session.send': {
    version: 1,
    scope: 'location',
    payload: z.object({
      to: e164Schema,
      /** Idempotency key: sending the same id twice sends one WhatsApp message. */
      clientMessageId: opaqueIdSchema,
      content: messageContentSchema,
    }),
    result: z.object({ waMessageId: opaqueIdSchema, sentAt: isoDateTimeSchema }),
  },
  'session.request_pairing_code': {
    version: 1,
    scope: 'location',
    payload: z.object({ phone: e164Schema }),
    result: z.object({ code: z.string().regex(/^[A-Z0-9]{8}$/), expiresAt: isoDateTimeSchema }),
  },
  'oauth.exchange_code': {
    version: 1,
    scope: 'global',
    payload: z.object({ code: z.string().min(1).max(2000) }),
    result: z.object({
      userType: z.enum(['Location', 'Company']),
      companyId: opaqueIdSchema.nullable(),
      locationIds: z.array(opaqueIdSchema),
    }),
  },
} as const satisfies Record<
  string,
  { version: number; scope: 'location' | 'global'; payload: z.ZodType; result: z.ZodType }
>;

export type CommandType = keyof typeof COMMANDS;
export type CommandPayload<T extends CommandType> = z.infer<(typeof COMMANDS)[T]['payload']>;
export type CommandResult<T extends CommandType> = z.infer<(typeof COMMANDS)[T]['result']>;
export type CommandEnvelope<T extends CommandType = CommandType> = {
  [K in T]: Envelope<K, CommandPayload<K>>;
}[T];

export const COMMAND_TYPES = Object.keys(COMMANDS) as CommandType[];

export function isCommandType(value: string): value is CommandType {
  return Object.prototype.hasOwnProperty.call(COMMANDS, value);
}

/**
 * Why a command failed. Callers switch on `code` exhaustively (the api maps each to an HTTP status).
 */
export const COMMAND_ERROR_CODES = [
  'invalid_request',
  'unknown_location',
  'not_owner',
  'session_not_running',
  'not_connected',
  'invalid_phone',
  'capacity_exhausted',
  'upstream_error',
  'timeout',
  'no_responder',
  'internal',
] as const;
export const commandErrorCodeSchema = z.enum(COMMAND_ERROR_CODES);
export type CommandErrorCode = z.infer<typeof commandErrorCodeSchema>;

/** Longest error message a reply carries; longer ones are cut by `CommandError.toBody`. */
export const COMMAND_ERROR_MESSAGE_MAX = 2000;

export const commandErrorSchema = z.object({
  code: commandErrorCodeSchema,
  message: z.string().max(COMMAND_ERROR_MESSAGE_MAX),
  retryable: z.boolean(),
});
export type CommandErrorBody = z.infer<typeof commandErrorSchema>;

export type CommandReply<T extends CommandType> =
  { ok: true; result: CommandResult<T> } | { ok: false; error: CommandErrorBody };

export function commandReplySchema<T extends CommandType>(type: T): z.ZodType<CommandReply<T>> {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), result: COMMANDS[type].result }),
    z.object({ ok: z.literal(false), error: commandErrorSchema }),
  ]) as unknown as z.ZodType<CommandReply<T>>;
}

const commandSchemas = Object.fromEntries(
  COMMAND_TYPES.map((type) => [
    type,
    envelopeSchema(type, COMMANDS[type].version, COMMANDS[type].payload, COMMANDS[type].scope),
  ]),
) as unknown as { [K in CommandType]: z.ZodType<CommandEnvelope<K>> };

export function createCommand<T extends CommandType>(
  type: T,
  locationId: string,
  payload: CommandPayload<T>,
  meta: EnvelopeMeta = {},
): CommandEnvelope<T> {
  const candidate = {
    ...newEnvelopeHeader(meta),
    type,
    version: COMMANDS[type].version,
    locationId,
    payload,
  };
  return parseWith(commandSchemas[type], candidate, `command ${type}`);
}

export function parseCommand<T extends CommandType>(type: T, raw: unknown): CommandEnvelope<T> {
  return parseWith(commandSchemas[type], raw, `command ${type}`);
}
