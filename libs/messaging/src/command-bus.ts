import {
  CommandEnvelope,
  CommandPayload,
  CommandReply,
  commandReplySchema,
  CommandResult,
  COMMANDS,
  commandSubject,
  CommandType,
  ContractViolation,
  createCommand,
  EnvelopeMeta,
  GLOBAL_SCOPE,
  parseCommand,
  SUBJECT_ROOTS,
} from '@app/contracts';
import { ErrorCode, Msg, NatsError, Subscription } from 'nats';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CommandError } from './errors/command.error';
import { MessagingConnection } from './nats-connection';

export interface CommandBusOptions {
  /** Used when a request gives no `timeoutMs`. Default 10 s. */
  defaultTimeoutMs?: number;
}

export interface CommandRequestOptions {
  timeoutMs?: number;
  meta?: EnvelopeMeta;
}

export interface CommandHandleOptions {
  /** Queue group: each request goes to one member (e.g. all workers competing for `session.start`). */
  queue?: string;
}

export type CommandHandler<T extends CommandType> = (
  envelope: CommandEnvelope<T>,
) => Promise<CommandResult<T>>;

export interface CommandSubscription {
  readonly subject: string;
  /**
   * Resolves once the server has the subscription (a round trip), so a request sent after it from
   * any connection reaches this handler rather than failing with `no_responder`.
   */
  readonly ready: Promise<void>;
  /** Stops taking requests; requests already being handled still get their reply. */
  unsubscribe(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const INTERNAL_MESSAGE = 'the command handler failed; see its logs';

/**
 * Request/reply commands over core NATS (not stored: a command is only meaningful to whoever owns
 * the session right now). Every failure reaches the caller as a `CommandError` with a contract code.
 */
export class CommandBus {
  private readonly defaultTimeoutMs: number;
  private readonly logger: Logger;
  private readonly replySchemas = new Map<CommandType, z.ZodType<CommandReply<CommandType>>>();

  constructor(
    private readonly connection: MessagingConnection,
    logger: Logger,
    options: CommandBusOptions = {},
  ) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = logger.child({ component: 'command-bus' });
  }

  /** Sends a command and waits for its result. For global commands `locationId` is ignored. */
  async request<T extends CommandType>(
    type: T,
    locationId: string,
    payload: CommandPayload<T>,
    options: CommandRequestOptions = {},
  ): Promise<CommandResult<T>> {
    const scopeId = COMMANDS[type].scope === 'global' ? GLOBAL_SCOPE : locationId;
    let envelope: CommandEnvelope<T>;
    try {
      envelope = createCommand(type, scopeId, payload, options.meta);
    } catch (err) {
      if (err instanceof ContractViolation)
        throw new CommandError('invalid_request', err.message, { cause: err });
      throw err;
    }
    const subject = commandSubject(type, scopeId);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    let reply: Msg;
    try {
      reply = await this.connection.nc.request(subject, encode(envelope), { timeout: timeoutMs });
    } catch (err) {
      throw requestFailure(err, type, scopeId, timeoutMs);
    }
    const parsed = this.replySchema(type).safeParse(decodeOrUndefined(reply.data));
    if (!parsed.success) {
      this.logger.error(
        { subject, commandId: envelope.id, issues: parsed.error.issues.length },
        'malformed command reply',
      );
      throw new CommandError('internal', `malformed reply to ${type}`);
    }
    const body = parsed.data as CommandReply<T>;
    if (body.ok) return body.result;
    throw CommandError.fromBody(body.error);
  }

  /**
   * Serves one command type for one location, or for every location with `'*'`. Invalid requests are
   * answered with `invalid_request`; a handler declines with `throw new CommandError(code, ...)`.
   */
  handle<T extends CommandType>(
    type: T,
    scope: string,
    handler: CommandHandler<T>,
    options: CommandHandleOptions = {},
  ): CommandSubscription {
    const subject = scope === '*' ? `${SUBJECT_ROOTS.commands}.*.${type}` : commandSubject(type, scope);
    const sub: Subscription = this.connection.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) {
          this.logger.error({ err, subject }, 'command subscription failed');
          return;
        }
        void this.serve(type, handler, msg);
      },
    });
    this.logger.info({ subject, queue: options.queue }, 'serving commands');
    return {
      subject,
      ready: this.connection.nc.flush(),
      unsubscribe: async () => {
        if (sub.isClosed()) return;
        await sub.drain().catch(() => sub.unsubscribe());
      },
    };
  }

  private async serve<T extends CommandType>(type: T, handler: CommandHandler<T>, msg: Msg): Promise<void> {
    if (!msg.reply) {
      this.logger.warn({ subject: msg.subject }, 'command without a reply subject ignored');
      return;
    }
    const reply = (body: CommandReply<T>) => {
      try {
        msg.respond(encode(body));
      } catch (err) {
        this.logger.warn({ err, subject: msg.subject }, 'could not send a command reply');
      }
    };
    const fail = (error: CommandError) => reply({ ok: false, error: error.toBody() });

    let envelope: CommandEnvelope<T>;
    try {
      envelope = parseCommand(type, decode(msg.data));
    } catch (err) {
      if (err instanceof ContractViolation || err instanceof SyntaxError) {
        const message = err instanceof SyntaxError ? `request is not JSON: ${err.message}` : err.message;
        return fail(new CommandError('invalid_request', message));
      }
      this.logger.error({ err, subject: msg.subject }, 'command decoding failed');
      return fail(new CommandError('internal', INTERNAL_MESSAGE));
    }
    const subjectLocation = msg.subject.split('.')[1];
    if (envelope.locationId !== subjectLocation) {
      return fail(
        new CommandError(
          'invalid_request',
          `locationId ${envelope.locationId} does not match the subject ${msg.subject}`,
        ),
      );
    }

    const fields = { subject: msg.subject, commandId: envelope.id, commandType: type };
    let result: CommandResult<T>;
    try {
      result = await handler(envelope);
    } catch (err) {
      if (err instanceof CommandError) {
        this.logger.info({ ...fields, code: err.code }, 'command declined');
        return fail(err);
      }
      this.logger.error({ ...fields, err }, 'command handler threw');
      return fail(new CommandError('internal', INTERNAL_MESSAGE));
    }
    const checked = COMMANDS[type].result.safeParse(result);
    if (!checked.success) {
      const issues = checked.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      this.logger.error({ ...fields, issues }, 'command handler returned a result that breaks the contract');
      return fail(new CommandError('internal', INTERNAL_MESSAGE));
    }
    reply({ ok: true, result: checked.data as CommandResult<T> });
  }

  private replySchema(type: CommandType): z.ZodType<CommandReply<CommandType>> {
    let schema = this.replySchemas.get(type);
    if (!schema) {
      schema = commandReplySchema<CommandType>(type);
      this.replySchemas.set(type, schema);
    }
    return schema;
  }
}

function encode(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

function decode(data: Uint8Array): unknown {
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
}

/** Bytes that are not JSON become undefined and then fail the schema like any other bad shape. */
function decodeOrUndefined(data: Uint8Array): unknown {
  try {
    return decode(data);
  } catch {
    return undefined;
  }
}

function requestFailure(
  err: unknown,
  type: CommandType,
  locationId: string,
  timeoutMs: number,
): CommandError {
  const code = err instanceof NatsError ? err.code : undefined;
  switch (code) {
    case ErrorCode.NoResponders:
      return new CommandError('no_responder', `nobody serves ${type} for ${locationId}`, { cause: err });
    case ErrorCode.Timeout:
      return new CommandError('timeout', `${type} for ${locationId} got no reply within ${timeoutMs} ms`, {
        cause: err,
      });
    case ErrorCode.ConnectionClosed:
    case ErrorCode.ConnectionDraining:
    case ErrorCode.Disconnect:
      return new CommandError('no_responder', `NATS connection unusable (${code}); ${type} not sent`, {
        cause: err,
      });
    case undefined:
    default:
      return new CommandError(
        'internal',
        `${type} request failed: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
  }
}
