import { MAX_CLOSED_RECEIVING_CHAINS, pruneSessionRecord } from './signal-session-pruning';

const SENDING = 1;
const RECEIVING = 2;

function chain(type: number, open: boolean) {
  return {
    chainKey: { counter: 3, ...(open ? { key: 'a2V5' } : {}) },
    chainType: type,
    messageKeys: { '4': 'bWs=' },
  };
}

/** A serialised record whose one session went through `steps` ratchet steps. */
function recordWith(steps: number) {
  const chains: Record<string, ReturnType<typeof chain>> = {};
  for (let i = 0; i < steps; i++) chains[`recv${i}=`] = chain(RECEIVING, false);
  chains['recvCurrent='] = chain(RECEIVING, true);
  chains['sendCurrent='] = chain(SENDING, true);
  return { _sessions: { 'baseKey=': { registrationId: 1, _chains: chains } }, version: 'v1' };
}

describe('pruneSessionRecord', () => {
  it('keeps the newest closed receiving chains and every open chain', () => {
    const record = recordWith(40);
    expect(pruneSessionRecord(record)).toBe(40 - MAX_CLOSED_RECEIVING_CHAINS);
    expect(Object.keys(record._sessions['baseKey=']._chains)).toEqual([
      'recv35=',
      'recv36=',
      'recv37=',
      'recv38=',
      'recv39=',
      'recvCurrent=',
      'sendCurrent=',
    ]);
  });

  it('leaves a record with few chains as it is', () => {
    const record = recordWith(MAX_CLOSED_RECEIVING_CHAINS);
    const before = JSON.stringify(record);
    expect(pruneSessionRecord(record)).toBe(0);
    expect(JSON.stringify(record)).toBe(before);
  });

  it('bounds the serialised size whatever the number of direction changes', () => {
    const small = recordWith(10);
    const huge = recordWith(5_000);
    pruneSessionRecord(small);
    pruneSessionRecord(huge);
    expect(Object.keys(huge._sessions['baseKey=']._chains)).toHaveLength(MAX_CLOSED_RECEIVING_CHAINS + 2);
    // Only the chains' names differ (recv4995= against recv5=): a few bytes, not 5,000 chains.
    expect(JSON.stringify(huge).length - JSON.stringify(small).length).toBeLessThan(20);
  });

  it('ignores values that are not session records', () => {
    expect(pruneSessionRecord(null)).toBe(0);
    expect(pruneSessionRecord({ _sessions: 'x' })).toBe(0);
    expect(pruneSessionRecord(Buffer.from('x'))).toBe(0);
  });
});
