import { Outbox, OUTBOX_LIMIT, OutboxSequence } from './outbox';

const receipt = (id: string) => ({ kind: 'receipt' as const, type: 'read', ids: [id], from: 'a', to: 'b' });
const message = (id: string) => ({ kind: 'message' as const, id, from: 'a', to: 'b', copies: [] });

describe('Outbox', () => {
  it('numbers items across accounts and pages after a sequence number', () => {
    const sequence = new OutboxSequence();
    const alice = new Outbox(sequence);
    const bob = new Outbox(sequence);
    alice.add(message('1'));
    bob.add(message('2'));
    alice.add(receipt('1'));
    expect(alice.page(0, 10).items.map((i) => i.seq)).toEqual([1, 3]);
    expect(alice.page(1, 10)).toMatchObject({ items: [{ seq: 3, kind: 'receipt' }], lastSeq: 3 });
    expect(alice.page(3, 10)).toEqual({ items: [], lastSeq: 3 });
  });

  it('finds the newest message with an id', () => {
    const outbox = new Outbox(new OutboxSequence());
    outbox.add(message('x'));
    outbox.add(receipt('x'));
    expect(outbox.findMessage('x')?.kind).toBe('message');
    expect(outbox.findMessage('y')).toBeUndefined();
  });

  it('keeps the newest items when full', () => {
    const outbox = new Outbox(new OutboxSequence());
    for (let i = 0; i < OUTBOX_LIMIT + 5; i++) outbox.add(message(String(i)));
    expect(outbox.size).toBe(OUTBOX_LIMIT);
    expect(outbox.page(0, 1).items[0].seq).toBe(6);
  });
});
