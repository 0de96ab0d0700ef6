import * as libsignal from 'libsignal';

// libsignal (Baileys' own dependency) ships typings without its `curve` module.
declare module 'libsignal' {
  export const curve: {
    verifySignature(publicKey: Buffer, message: Buffer, signature: Buffer): boolean;
  };
}

const DJB_TYPE = Buffer.from([5]);

/**
 * Verifies a Curve25519 (XEdDSA) signature. Not Baileys' `Curve.verify`: in 7.0.0-rc14 it discards the
 * boolean libsignal returns and so accepts any signature; the sandbox's checks must be able to fail.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return libsignal.curve.verifySignature(
      Buffer.concat([DJB_TYPE, publicKey]),
      Buffer.from(message),
      Buffer.from(signature),
    );
  } catch {
    return false;
  }
}
