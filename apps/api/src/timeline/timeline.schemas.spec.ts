import { createEvent } from '@app/contracts';
import { decodeCursor, encodeCursor } from './timeline-cursor';
import { eventEntry } from './timeline-entry';
import { timelineQuerySchema } from './timeline.schemas';

describe('timeline query', () => {
  const parse = (query: Record<string, string>) => timelineQuerySchema.safeParse(query);
  const problems = (query: Record<string, string>) => {
    const result = parse(query);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('defaults to 100 entries of every type, the window left to the caller', () => {
    expect(parse({})).toEqual({ success: true, data: { limit: 100 } });
  });

  it('reads times with a zone, a type list (deduplicated) and a limit', () => {
    expect(
      parse({
        since: '2026-03-01T00:00:00Z',
        until: '2026-03-01T12:00:00+02:00',
        types: 'session.qr, dead_letter,session.qr',
        limit: '25',
      }),
    ).toEqual({
      success: true,
      data: {
        since: '2026-03-01T00:00:00Z',
        until: '2026-03-01T12:00:00+02:00',
        types: ['session.qr', 'dead_letter'],
        limit: 25,
      },
    });
  });

  it('names every bad field', () => {
    expect(problems({ since: 'yesterday', limit: '0' })).toEqual([
      expect.stringMatching(/^since: must be an ISO 8601 time/),
      expect.stringMatching(/^limit: /),
    ]);
    expect(problems({ since: '2026-03-02T00:00:00Z', until: '2026-03-01T00:00:00Z' })).toEqual([
      'since: must not be after until',
    ]);
    expect(problems({ types: 'session.qr,bogus' })).toEqual([
      expect.stringMatching(/^types: unknown type\(s\) "bogus"; known: session.qr, .*dead_letter$/),
    ]);
    expect(problems({ types: ' , ' })).toEqual([expect.stringMatching(/^types: no type given/)]);
    expect(problems({ since: '2026-03-01T00:00:00' })).toHaveLength(1);
    expect(problems({ limit: '501' })).toHaveLength(1);
    expect(problems({ offset: '10' })).toEqual([expect.stringMatching(/Unrecognized key/)]);
  });
});

describe('timeline cursor', () => {
  it('round-trips, and refuses anything it did not make', () => {
    const cursor = { events: 12, deadLetters: null, sinceMs: 1_000, untilMs: 2_000 };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(decodeCursor('not-a-cursor')).toBeNull();
    expect(decodeCursor(Buffer.from('{"v":1,"e":0,"d":null,"s":1,"u":2}').toString('base64url'))).toBeNull();
    expect(decodeCursor(Buffer.from('{"v":1,"e":1,"d":null,"s":3,"u":2}').toString('base64url'))).toBeNull();
    expect(decodeCursor(Buffer.from('{"v":2,"e":1,"d":null,"s":1,"u":2}').toString('base64url'))).toBeNull();
  });
});

describe('timeline entries', () => {
  it('never carry the QR string, the pairing code or message text', () => {
    const at = new Date('2026-03-01T00:00:00.000Z');
    const qr = createEvent('session.qr', 'locA', {
      qr: '2@secret-qr',
      attempt: 2,
      expiresAt: at.toISOString(),
      workerId: 'w1',
    });
    const code = createEvent('session.pairing_code', 'locA', {
      phone: '+15550001111',
      code: 'SECRET12',
      expiresAt: at.toISOString(),
      workerId: 'w1',
    });
    const party = { phone: '+15550002222', jid: '15550002222@s.whatsapp.net', lid: null, pushName: null };
    const text = createEvent('message.inbound', 'locA', {
      waMessageId: 'W1',
      chatJid: party.jid,
      from: party,
      sentAt: at.toISOString(),
      content: { kind: 'text', text: 'secret words' },
    });
    const entries = [qr, code, text].map((event, i) => eventEntry(event, i + 1, at));
    const json = JSON.stringify(entries);
    for (const secret of ['2@secret-qr', 'SECRET12', 'secret words']) expect(json).not.toContain(secret);
    expect(entries[0]).toMatchObject({ type: 'session.qr', seq: 1, detail: { attempt: 2 } });
    expect(entries[2]).toMatchObject({
      detail: { waMessageId: 'W1', from: '+15550002222', content: 'text' },
    });
  });
});
