import { checkDeliveries, violations, type SentMessage, type SystemCheck } from './checker';

const sent = (conversation: string, ...seqs: number[]): SentMessage[] =>
  seqs.map((seq) => ({ key: `${conversation}-${seq}`, conversation, seq }));
const seen = (...keys: string[]) => keys.map((key) => ({ key }));

describe('checkDeliveries', () => {
  it('passes a history delivered once each, in order per conversation, interleaved across them', () => {
    const report = checkDeliveries(
      [...sent('a', 1, 2, 3), ...sent('b', 1, 2)],
      seen('a-1', 'b-1', 'a-2', 'b-2', 'a-3'),
    );
    expect(report).toEqual({
      sent: 5,
      delivered: 5,
      lost: [],
      excused: {},
      duplicated: [],
      reordered: [],
      unexpected: [],
    });
  });

  it('reports a message that never came out as lost', () => {
    expect(checkDeliveries(sent('a', 1, 2, 3), seen('a-1', 'a-3')).lost).toEqual(['a-2']);
  });

  it('reports a missing message with a reason as excused, by reason, not as lost', () => {
    const history: SentMessage[] = [
      ...sent('a', 1),
      { key: 'a-2', conversation: 'a', seq: 2, excusedIfMissing: 'device logged out' },
      { key: 'a-3', conversation: 'a', seq: 3, excusedIfMissing: 'device logged out' },
    ];
    const report = checkDeliveries(history, seen('a-1', 'a-3'));
    expect(report.lost).toEqual([]);
    expect(report.excused).toEqual({ 'device logged out': ['a-2'] });
    expect(report.delivered).toBe(2);
  });

  it('counts copies of a message delivered more than once', () => {
    const report = checkDeliveries(sent('a', 1, 2), seen('a-1', 'a-2', 'a-1', 'a-1'));
    expect(report.duplicated).toEqual([{ key: 'a-1', copies: 3 }]);
    expect(report.delivered).toBe(2);
    // A late duplicate is not a reordering.
    expect(report.reordered).toEqual([]);
  });

  it('reports a message that came out after a later one of its conversation', () => {
    const report = checkDeliveries(
      [...sent('a', 1, 2, 3), ...sent('b', 1, 2)],
      seen('a-2', 'b-2', 'a-1', 'b-1', 'a-3'),
    );
    expect(report.reordered).toEqual([
      { conversation: 'a', key: 'a-1', seq: 1, afterSeq: 2 },
      { conversation: 'b', key: 'b-1', seq: 1, afterSeq: 2 },
    ]);
  });

  it('reports output nobody sent', () => {
    expect(checkDeliveries(sent('a', 1), seen('a-1', 'zzz')).unexpected).toEqual(['zzz']);
  });
});

describe('violations', () => {
  const clean: SystemCheck = {
    inbound: checkDeliveries(sent('a', 1), seen('a-1')),
    outbound: checkDeliveries(sent('o', 1), seen('o-1')),
    sessions: { doubleConnections: 0, selfInflicted440s: 0, notOpen: [] },
    duplicateContacts: 0,
  };

  it('is empty when every target is met', () => {
    expect(violations(clean)).toEqual([]);
  });

  it('leaves order out when asked to', () => {
    const reordered: SystemCheck = {
      ...clean,
      inbound: checkDeliveries(sent('a', 1, 2), seen('a-2', 'a-1')),
    };
    expect(violations(reordered)).toEqual(['WhatsApp → GHL: 1 out of order (e.g. a-1)']);
    expect(violations(reordered, { order: false })).toEqual([]);
  });

  it('names each broken target', () => {
    const broken: SystemCheck = {
      inbound: checkDeliveries(sent('a', 1, 2), seen('a-2', 'a-2')),
      outbound: checkDeliveries(sent('o', 1, 2), seen('o-2', 'o-1')),
      sessions: {
        doubleConnections: 2,
        selfInflicted440s: 1,
        notOpen: [{ locationId: 'loc1', state: 'logged_out' }],
      },
      duplicateContacts: 1,
    };
    expect(violations(broken)).toEqual([
      'WhatsApp → GHL: 1 lost (e.g. a-1)',
      'WhatsApp → GHL: 1 duplicated (e.g. a-2)',
      'GHL → WhatsApp: 1 out of order (e.g. o-1)',
      '2 double WhatsApp connections',
      '1 self-inflicted 440s',
      '1 sessions not open (loc1: logged_out)',
      '1 duplicate GHL contacts',
    ]);
  });
});
