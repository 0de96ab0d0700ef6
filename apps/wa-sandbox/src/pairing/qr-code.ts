/**
 * The QR a companion shows (`companion-reg-client-utils.js`):
 * `https://wa.me/settings/linked_devices#<ref>,<noiseKey b64>,<identityKey b64>,<advSecret b64>,<platform>`.
 * The ADV secret exists only here, which is why a scan must be driven by whoever sees the QR.
 */
export interface CompanionQr {
  ref: string;
  noiseKey: Buffer;
  identityKey: Buffer;
  advSecret: Buffer;
  platformId: string;
}

export function parseCompanionQr(qr: string): CompanionQr | undefined {
  const hash = qr.indexOf('#');
  const parts = (hash >= 0 ? qr.slice(hash + 1) : qr).split(',');
  if (parts.length < 4) return undefined;
  const [ref, noise, identity, adv, platformId = ''] = parts;
  const noiseKey = Buffer.from(noise, 'base64');
  const identityKey = Buffer.from(identity, 'base64');
  const advSecret = Buffer.from(adv, 'base64');
  if (!ref || noiseKey.length !== 32 || identityKey.length !== 32 || advSecret.length !== 32)
    return undefined;
  return { ref, noiseKey, identityKey, advSecret, platformId };
}
