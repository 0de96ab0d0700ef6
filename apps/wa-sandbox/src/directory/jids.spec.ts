import { lidJid, parseJid, pnJid } from './jids';

describe('jids', () => {
  it.each([
    ['15550000001@s.whatsapp.net', { user: '15550000001', device: 0, server: 's.whatsapp.net' }],
    ['15550000001:3@s.whatsapp.net', { user: '15550000001', device: 3, server: 's.whatsapp.net' }],
    ['100794822195921:1@lid', { user: '100794822195921', device: 1, server: 'lid' }],
    ['100794822195921_1:2@lid', { user: '100794822195921', device: 2, server: 'lid' }],
  ])('parses %s', (jid, expected) => {
    expect(parseJid(jid)).toEqual(expected);
  });

  it.each(['', 'no-at-sign', '@s.whatsapp.net', '1555:x@s.whatsapp.net'])('rejects %p', (jid) => {
    expect(parseJid(jid)).toBeUndefined();
  });

  it('writes device 0 without a device part', () => {
    expect(pnJid('15550000001')).toBe('15550000001@s.whatsapp.net');
    expect(pnJid('15550000001', 2)).toBe('15550000001:2@s.whatsapp.net');
    expect(lidJid('100794822195921', 1)).toBe('100794822195921:1@lid');
  });
});
