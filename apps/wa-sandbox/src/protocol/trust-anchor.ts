import { Curve, proto, type KeyPair } from '@whiskeysockets/baileys';
import type { NoiseServerIdentity } from './noise-server';

/**
 * The sandbox's own certificate hierarchy: root → intermediate → leaf (the server's Noise static key).
 * Baileys checks the chain against WhatsApp's root key, so a process talking to the sandbox swaps in
 * this root's public key through the trust preload (libs/wa-sandbox-client/src/trust-preload.ts).
 */
export interface TrustAnchor {
  root: KeyPair;
  intermediate: KeyPair;
  serverStatic: KeyPair;
}

export interface SerializedTrustAnchor {
  root: SerializedKeyPair;
  intermediate: SerializedKeyPair;
  serverStatic: SerializedKeyPair;
}

interface SerializedKeyPair {
  public: string;
  private: string;
}

const DAY_SECONDS = 86_400;

export function createTrustAnchor(): TrustAnchor {
  return {
    root: Curve.generateKeyPair(),
    intermediate: Curve.generateKeyPair(),
    serverStatic: Curve.generateKeyPair(),
  };
}

export function rootPublicKeyHex(anchor: TrustAnchor): string {
  return Buffer.from(anchor.root.public).toString('hex');
}

/** Builds the `serverHello` payload: Baileys verifies the intermediate under the root (no prefix). */
export function buildNoiseIdentity(anchor: TrustAnchor, now = new Date()): NoiseServerIdentity {
  const Details = proto.CertChain.NoiseCertificate.Details;
  const t = Math.floor(now.getTime() / 1000);
  const intermediateDetails = Details.encode({
    serial: 1,
    // Must be present and 0: a missing field decodes as null and Baileys rejects the chain.
    issuerSerial: 0,
    key: anchor.intermediate.public,
    notBefore: t - DAY_SECONDS,
    notAfter: t + 365 * DAY_SECONDS,
  }).finish();
  const leafDetails = Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: anchor.serverStatic.public,
    notBefore: t - DAY_SECONDS,
    notAfter: t + 30 * DAY_SECONDS,
  }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: {
      details: intermediateDetails,
      signature: Curve.sign(anchor.root.private, intermediateDetails),
    },
    leaf: { details: leafDetails, signature: Curve.sign(anchor.intermediate.private, leafDetails) },
  }).finish();
  return { staticKeyPair: anchor.serverStatic, certChain };
}

export function serializeTrustAnchor(anchor: TrustAnchor): SerializedTrustAnchor {
  const pair = (k: KeyPair): SerializedKeyPair => ({
    public: Buffer.from(k.public).toString('base64'),
    private: Buffer.from(k.private).toString('base64'),
  });
  return {
    root: pair(anchor.root),
    intermediate: pair(anchor.intermediate),
    serverStatic: pair(anchor.serverStatic),
  };
}

export function deserializeTrustAnchor(data: SerializedTrustAnchor): TrustAnchor {
  const pair = (k: SerializedKeyPair): KeyPair => ({
    public: Buffer.from(k.public, 'base64'),
    private: Buffer.from(k.private, 'base64'),
  });
  return {
    root: pair(data.root),
    intermediate: pair(data.intermediate),
    serverStatic: pair(data.serverStatic),
  };
}
