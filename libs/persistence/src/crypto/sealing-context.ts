import type { TokenResourceType } from '../entities/oauth-token.entity';

/**
 * The AAD strings that bind a ciphertext to its row. Parts before the last may not contain `:`, so
 * every AAD reads back one way only (the last part, a Baileys key id, may contain anything).
 */
function join(prefix: string, fixed: readonly string[], last: string): string {
  for (const part of fixed) {
    if (part === '' || part.includes(':'))
      throw new RangeError(`AAD part "${part}" must be non-empty without ":"`);
  }
  return [prefix, ...fixed, last].join(':');
}

export const sealingContext = {
  /** Baileys creds (`category` `creds`, `keyId` '') and Signal keys. */
  authState: (locationId: string, category: string, keyId: string): string =>
    join('auth', [locationId, category], keyId),

  oauthToken: (resourceType: TokenResourceType, resourceId: string, token: 'access' | 'refresh'): string =>
    join('oauth', [resourceType, resourceId], token),
};
