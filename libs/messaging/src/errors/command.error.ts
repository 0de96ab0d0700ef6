import { COMMAND_ERROR_MESSAGE_MAX, CommandErrorBody, CommandErrorCode } from '@app/contracts';

/**
 * A command failed with a code from the contract. Handlers throw it to decline (`not_owner`,
 * `session_not_running`, ...); `CommandBus.request` throws it for every failure, so callers switch on
 * `code` exhaustively.
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly retryable: boolean;

  constructor(
    readonly code: CommandErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? isRetryableByDefault(code);
  }

  /**
   * The reply body. A message longer than the contract allows is cut: it can quote the request (an
   * unknown key of any length), and a reply that breaks the contract would reach the caller as `internal`.
   */
  toBody(): CommandErrorBody {
    const message =
      this.message.length > COMMAND_ERROR_MESSAGE_MAX
        ? `${this.message.slice(0, COMMAND_ERROR_MESSAGE_MAX - 1)}…`
        : this.message;
    return { code: this.code, message, retryable: this.retryable };
  }

  static fromBody(body: CommandErrorBody): CommandError {
    return new CommandError(body.code, body.message, { retryable: body.retryable });
  }
}

/** Whether trying the same command again later can succeed without anyone changing the request. */
export function isRetryableByDefault(code: CommandErrorCode): boolean {
  switch (code) {
    case 'timeout':
    case 'no_responder':
    case 'not_owner':
    case 'session_not_running':
    case 'not_connected':
    case 'capacity_exhausted':
    case 'upstream_error':
      return true;
    case 'invalid_request':
    case 'unknown_location':
    case 'invalid_phone':
    case 'internal':
      return false;
  }
}
