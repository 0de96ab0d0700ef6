import type { OutboxItem, OutboxMessage, OutboxPage, OutboxReceipt } from '@app/wa-sandbox-client';

/** Most items kept per account; a long load run keeps the newest ones. */
export const OUTBOX_LIMIT = 5_000;

type NewItem = Omit<OutboxMessage, 'seq' | 'at'> | Omit<OutboxReceipt, 'seq' | 'at'>;

/** Sequence numbers shared by every outbox, so items of different accounts order globally. */
export class OutboxSequence {
  private last = 0;
  next(): number {
    return ++this.last;
  }
}

/** What one account's devices sent, decrypted by the simulated phones, in arrival order. */
export class Outbox {
  private items: OutboxItem[] = [];

  constructor(private readonly sequence: OutboxSequence) {}

  get size(): number {
    return this.items.length;
  }

  add(item: NewItem): OutboxItem {
    const stored: OutboxItem = { ...item, seq: this.sequence.next(), at: new Date().toISOString() };
    this.items.push(stored);
    if (this.items.length > OUTBOX_LIMIT) this.items.splice(0, this.items.length - OUTBOX_LIMIT);
    return stored;
  }

  /** The message with this id, if the account sent it. */
  findMessage(id: string): OutboxMessage | undefined {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i];
      if (item.kind === 'message' && item.id === id) return item;
    }
    return undefined;
  }

  page(after: number, limit: number): OutboxPage {
    const items = this.items.filter((i) => i.seq > after).slice(0, limit);
    return { items, lastSeq: items.length ? items[items.length - 1].seq : after };
  }

  clear(): void {
    this.items = [];
  }
}
