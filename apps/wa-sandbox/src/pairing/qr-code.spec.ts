import { randomBytes } from 'node:crypto';
import { parseCompanionQr } from './qr-code';

describe('parseCompanionQr', () => {
  const noise = randomBytes(32);
  const identity = randomBytes(32);
  const adv = randomBytes(32);
  const ref = '2@ab+c/d=';

  it("reads the ref and the companion's keys from the link", () => {
    const qr = `https://wa.me/settings/linked_devices#${[ref, noise, identity, adv].map((p) => (typeof p === 'string' ? p : p.toString('base64'))).join(',')},1`;
    expect(parseCompanionQr(qr)).toEqual({
      ref,
      noiseKey: noise,
      identityKey: identity,
      advSecret: adv,
      platformId: '1',
    });
  });

  it('rejects strings that are not a companion QR', () => {
    expect(parseCompanionQr('https://example.com')).toBeUndefined();
    expect(parseCompanionQr(`x#${ref},AAAA,BBBB,CCCC`)).toBeUndefined();
  });
});
