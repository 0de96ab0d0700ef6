import { verify } from 'node:crypto';

/**
 * Checks the two webhook signatures GHL sends (GHL-CONTRACT §6.2) over the raw body:
 * `x-ghl-signature` (Ed25519) and the legacy `x-wh-signature` (RSA-SHA256), both base64.
 */
export function verifyEd25519Signature(rawBody: string, signature: string, publicKeyPem: string): boolean {
  return verify(null, Buffer.from(rawBody, 'utf8'), publicKeyPem, Buffer.from(signature, 'base64'));
}

export function verifyRsaSignature(rawBody: string, signature: string, publicKeyPem: string): boolean {
  return verify('sha256', Buffer.from(rawBody, 'utf8'), publicKeyPem, Buffer.from(signature, 'base64'));
}
