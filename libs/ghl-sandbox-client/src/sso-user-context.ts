import { cryptoJsAesDecrypt, cryptoJsAesEncrypt } from '@app/cryptojs-aes';

/**
 * The custom-page user context (GHL-CONTRACT §8): GHL hands the iframe a string made by
 * `CryptoJS.AES.encrypt(JSON.stringify(user), sharedSecret)`; the format is in `@app/cryptojs-aes`,
 * which the api opens it with too.
 */

/** The encrypted string a custom page receives as `REQUEST_USER_DATA_RESPONSE` payload. */
export function encryptUserContext(context: object, sharedSecret: string): string {
  return cryptoJsAesEncrypt(JSON.stringify(context), sharedSecret);
}

export function decryptUserContext<T = Record<string, unknown>>(payload: string, sharedSecret: string): T {
  return JSON.parse(cryptoJsAesDecrypt(payload, sharedSecret)) as T;
}
