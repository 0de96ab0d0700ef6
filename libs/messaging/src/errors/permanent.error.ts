/**
 * Thrown by a consumer handler when retrying cannot help (the data is wrong for this consumer, the
 * target refuses it for good). The message is copied to the dead-letter stream and terminated.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';

  constructor(
    message: string,
    /** Extra words for the dead-letter reason; must not contain message bodies or secrets. */
    readonly detail?: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}
