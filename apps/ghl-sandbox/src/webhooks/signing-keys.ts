import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface SigningKeys {
  ed25519Private: KeyObject;
  rsaPrivate: KeyObject;
  ed25519PublicKeyPem: string;
  rsaPublicKeyPem: string;
}

/**
 * Test stand-ins for GHL's webhook keys (GHL-CONTRACT §6.2). The real public keys are published; the
 * private halves are not, so the sandbox signs with its own pairs and exposes the public halves for the
 * product to verify with. RSA is 2048-bit (GHL's is 4096) to keep start-up fast; the scheme is the same.
 */
export function loadSigningKeys(ed25519Pem?: string, rsaPem?: string): SigningKeys {
  const ed25519Private = ed25519Pem
    ? createPrivateKey(ed25519Pem)
    : generateKeyPairSync('ed25519').privateKey;
  const rsaPrivate = rsaPem
    ? createPrivateKey(rsaPem)
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  if (ed25519Private.asymmetricKeyType !== 'ed25519')
    throw new Error('ED25519_PRIVATE_KEY is not an Ed25519 key');
  if (rsaPrivate.asymmetricKeyType !== 'rsa') throw new Error('RSA_PRIVATE_KEY is not an RSA key');
  const pem = (key: KeyObject): string =>
    createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return {
    ed25519Private,
    rsaPrivate,
    ed25519PublicKeyPem: pem(ed25519Private),
    rsaPublicKeyPem: pem(rsaPrivate),
  };
}

/** `x-ghl-signature`: Ed25519 over the raw body bytes, base64 (SDK README). */
export function signEd25519(keys: SigningKeys, rawBody: string): string {
  return sign(null, Buffer.from(rawBody, 'utf8'), keys.ed25519Private).toString('base64');
}

/** `x-wh-signature`: RSA-SHA256 (PKCS#1 v1.5) over the raw body, base64 (WebhookAuthentication.md). */
export function signRsa(keys: SigningKeys, rawBody: string): string {
  return sign('sha256', Buffer.from(rawBody, 'utf8'), keys.rsaPrivate).toString('base64');
}
