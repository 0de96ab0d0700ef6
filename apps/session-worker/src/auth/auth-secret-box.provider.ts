import type { FactoryProvider } from '@nestjs/common';
import { SecretBox } from '@app/persistence';

/**
 * The SecretBox for auth state, from ENCRYPTION_KEY (base64 of 32 bytes, already validated by the
 * config schema; SecretBox checks the length again). Key id 1, the same as every other app that
 * decodes ENCRYPTION_KEY with `SecretBox.fromBase64`, so values stay readable across apps.
 */
export function createAuthSecretBox(encryptionKeyBase64: string): SecretBox {
  return SecretBox.fromBase64(encryptionKeyBase64);
}

/** Provides `SecretBox` to Nest so `AuthStateRepository` can be injected. */
export function authSecretBoxProvider(config: {
  readonly ENCRYPTION_KEY: string;
}): FactoryProvider<SecretBox> {
  return { provide: SecretBox, useFactory: () => createAuthSecretBox(config.ENCRYPTION_KEY) };
}
