/**
 * The bus could not take a message in time (server unreachable, JetStream not answering). Nothing is
 * known to be stored; retrying with the same envelope id is safe because publishes are de-duplicated.
 * The api maps it to 429/503 so the caller retries later.
 */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';

  constructor(
    message: string,
    readonly subject: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}
