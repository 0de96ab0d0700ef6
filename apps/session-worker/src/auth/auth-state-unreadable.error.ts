import type { SecretBoxFailure } from '@app/persistence';

/**
 * A stored auth value could not be decrypted: tampered with, moved from another row, or sealed under a
 * key this process does not have. Never silently treated as absent — that would make Baileys mint new
 * credentials and unlink the phone; the session must stop with this reason instead.
 */
export class AuthStateUnreadableError extends Error {
  override readonly name = 'AuthStateUnreadableError';

  constructor(
    readonly locationId: string,
    readonly category: string,
    readonly keyId: string,
    readonly failure: SecretBoxFailure,
    options: { cause?: unknown } = {},
  ) {
    super(
      `auth state ${category}/${keyId} of ${locationId} cannot be decrypted (${failure})`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}
