import { Inject, Injectable } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { API_CONFIG } from '../api.tokens';

export const ED25519_HEADER = 'x-ghl-signature';
export const RSA_HEADER = 'x-wh-signature';

export type SignatureCheck =
  { ok: true; scheme: 'ed25519' | 'rsa' } | { ok: false; reason: 'missing' | 'invalid' | 'no_key' };

/**
 * GHL's webhook signatures over the exact request bytes (GHL-CONTRACT §6.2): `x-ghl-signature`
 * (Ed25519, current) first, the legacy `x-wh-signature` (RSA-SHA256) as a fallback while GHL still
 * sends it. Keys come from the environment; production requires both.
 */
@Injectable()
export class WebhookSignatureVerifier {
  private readonly ed25519: KeyObject | null;
  private readonly rsa: KeyObject | null;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.ed25519 = config.GHL_WEBHOOK_PUBLIC_KEY_ED25519
      ? createPublicKey(config.GHL_WEBHOOK_PUBLIC_KEY_ED25519)
      : null;
    this.rsa = config.GHL_WEBHOOK_PUBLIC_KEY_RSA ? createPublicKey(config.GHL_WEBHOOK_PUBLIC_KEY_RSA) : null;
  }

  get hasKeys(): boolean {
    return this.ed25519 !== null || this.rsa !== null;
  }

  check(raw: Buffer, headers: { ed25519?: string; rsa?: string }): SignatureCheck {
    const candidates: [KeyObject | null, string | undefined, 'ed25519' | 'rsa'][] = [
      [this.ed25519, headers.ed25519, 'ed25519'],
      [this.rsa, headers.rsa, 'rsa'],
    ];
    let presented = false;
    let checkable = false;
    for (const [key, signature, scheme] of candidates) {
      if (!signature) continue;
      presented = true;
      if (!key) continue;
      checkable = true;
      if (verifies(scheme, key, raw, signature)) return { ok: true, scheme };
    }
    if (!presented) return { ok: false, reason: 'missing' };
    return { ok: false, reason: checkable ? 'invalid' : 'no_key' };
  }
}

function verifies(scheme: 'ed25519' | 'rsa', key: KeyObject, raw: Buffer, signature: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature.trim())) return false;
  try {
    return verify(scheme === 'ed25519' ? null : 'sha256', raw, key, Buffer.from(signature.trim(), 'base64'));
  } catch {
    return false;
  }
}
