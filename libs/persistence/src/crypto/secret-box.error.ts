export type SecretBoxFailure = 'malformed' | 'unsupported-version' | 'unknown-key' | 'authentication-failed';

/**
 * Decryption failed. `authentication-failed` covers a tampered ciphertext, the wrong AAD (a value moved
 * to another row) and the wrong key alike: AES-GCM cannot tell them apart, and neither should callers.
 */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';

  constructor(readonly failure: SecretBoxFailure) {
    super(`cannot open sealed value: ${failure}`);
  }
}
