import {
  adoptKeyTransactions,
  KeyTransactions,
  type KeyData,
  type TransactionalKeys,
} from './key-transactions';

/** A key store in memory that records its calls, and can be made to fail. */
class RecordingStore {
  readonly values = new Map<string, unknown>();
  readonly reads: string[][] = [];
  readonly writes: KeyData[] = [];
  failures: Error[] = [];

  async get(type: string, ids: string[]) {
    this.reads.push(ids.map((id) => `${type}:${id}`));
    const failure = this.failures.shift();
    if (failure) throw failure;
    const found: { [id: string]: unknown } = {};
    for (const id of ids) if (this.values.has(`${type}:${id}`)) found[id] = this.values.get(`${type}:${id}`);
    return found;
  }

  async set(data: KeyData) {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.writes.push(data);
    for (const [type, values] of Object.entries(data)) {
      for (const [id, value] of Object.entries(values ?? {})) {
        if (value === null) this.values.delete(`${type}:${id}`);
        else this.values.set(`${type}:${id}`, value);
      }
    }
  }
}

const transient = Object.assign(new Error('Connection terminated unexpectedly'), { transient: true });
const permanent = new Error('duplicate key');

function setup(options: { live?: () => boolean; giveUpAfterMs?: number } = {}) {
  const store = new RecordingStore();
  const retries: string[] = [];
  const keys = new KeyTransactions(store, {
    isTransient: (error) => (error as { transient?: boolean }).transient === true,
    isLive: options.live ?? (() => true),
    onRetry: (what, attempt) => retries.push(`${what}#${attempt}`),
    retryDelaysMs: [1, 2, 4],
    giveUpAfterMs: options.giveUpAfterMs ?? 60_000,
  });
  return { store, keys, retries };
}

describe('KeyTransactions', () => {
  it('collects the writes of a transaction and commits them together when the work resolves', async () => {
    const { store, keys } = setup();
    store.values.set('session:a', 'old-a');
    const result = await keys.transaction(async () => {
      expect(keys.isInTransaction()).toBe(true);
      await keys.set({ session: { a: 'new-a' } });
      await keys.set({ session: { b: 'new-b' }, 'pre-key': { '7': null } });
      // Reads inside see the transaction's own writes, before anything is committed.
      expect(await keys.get('session', ['a', 'b'])).toEqual({ a: 'new-a', b: 'new-b' });
      expect(store.writes).toHaveLength(0);
      return 'decrypted';
    }, 'chat-1');
    expect(result).toBe('decrypted');
    expect(store.writes).toEqual([{ session: { a: 'new-a', b: 'new-b' }, 'pre-key': { '7': null } }]);
    expect(keys.isInTransaction()).toBe(false);
  });

  it('reads each id from the store once per transaction, absent ids included', async () => {
    const { store, keys } = setup();
    store.values.set('session:a', 'A');
    await keys.transaction(async () => {
      expect(await keys.get('session', ['a', 'missing'])).toEqual({ a: 'A' });
      expect(await keys.get('session', ['a', 'missing'])).toEqual({ a: 'A' });
    }, 'k');
    expect(store.reads).toEqual([['session:a', 'session:missing']]);
  });

  it('commits nothing when the work throws', async () => {
    const { store, keys } = setup();
    await expect(
      keys.transaction(async () => {
        await keys.set({ session: { a: 'half-done' } });
        throw new Error('bad MAC');
      }, 'k'),
    ).rejects.toThrow('bad MAC');
    expect(store.writes).toHaveLength(0);
  });

  it('runs transactions with one key one at a time, and with different keys side by side', async () => {
    const { keys } = setup();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = keys.transaction(async () => {
      log.push('first starts');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      log.push('first ends');
    }, 'same');
    const second = keys.transaction(async () => {
      log.push('second runs');
    }, 'same');
    const other = keys.transaction(async () => {
      log.push('other runs');
    }, 'other');
    await other;
    expect(log).toEqual(['first starts', 'other runs']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(log).toEqual(['first starts', 'other runs', 'first ends', 'second runs']);
  });

  it('joins a nested transaction to the outer one (one commit)', async () => {
    const { store, keys } = setup();
    await keys.transaction(async () => {
      await keys.set({ session: { a: '1' } });
      await keys.transaction(async () => keys.set({ session: { b: '2' } }), 'inner');
      expect(store.writes).toHaveLength(0);
    }, 'outer');
    expect(store.writes).toEqual([{ session: { a: '1', b: '2' } }]);
  });

  it("does not let one socket's transaction capture another socket's writes", async () => {
    const mine = setup();
    const theirs = setup();
    await mine.keys.transaction(async () => {
      expect(theirs.keys.isInTransaction()).toBe(false);
      await theirs.keys.set({ session: { x: 'theirs' } });
    }, 'k');
    expect(theirs.store.writes).toEqual([{ session: { x: 'theirs' } }]);
    expect(mine.store.writes).toHaveLength(0);
  });

  it('retries a read and a commit while the database is unavailable and the connection lives', async () => {
    const { store, keys, retries } = setup();
    store.values.set('session:a', 'A');
    store.failures = [transient, transient];
    await keys.transaction(async () => {
      expect(await keys.get('session', ['a'])).toEqual({ a: 'A' });
      await keys.set({ session: { a: 'B' } });
      store.failures = [transient];
    }, 'k');
    expect(retries).toEqual(['read#1', 'read#2', 'commit#1']);
    expect(store.values.get('session:a')).toBe('B');
  });

  it('never retries a permanent failure (a fenced write, a constraint)', async () => {
    const { store, keys, retries } = setup();
    store.failures = [permanent];
    await expect(keys.set({ session: { a: '1' } })).rejects.toBe(permanent);
    expect(retries).toEqual([]);
  });

  it('stops retrying once the connection is closing', async () => {
    let live = true;
    const { store, keys, retries } = setup({ live: () => live });
    store.failures = [transient, transient, transient, transient];
    const read = keys.get('session', ['a']);
    live = false;
    await expect(read).rejects.toBe(transient);
    expect(retries.length).toBeLessThanOrEqual(1);
  });

  it('gives up after its bound even while the connection lives', async () => {
    const { store, keys } = setup({ giveUpAfterMs: 0 });
    store.failures = [transient, transient];
    await expect(keys.get('session', ['a'])).rejects.toBe(transient);
  });

  it("takes over the socket's key store object, so Baileys' own transactions are never used", async () => {
    const { store, keys } = setup();
    const baileysTransaction = jest.fn();
    const baileysKeys = {
      get: jest.fn(),
      set: jest.fn(),
      isInTransaction: () => false,
      transaction: baileysTransaction,
    } as unknown as TransactionalKeys;
    adoptKeyTransactions(baileysKeys, keys);
    await baileysKeys.transaction(async () => {
      await baileysKeys.set({ session: { a: '1' } });
      expect(baileysKeys.isInTransaction()).toBe(true);
    }, 'k');
    expect(baileysTransaction).not.toHaveBeenCalled();
    expect(store.writes).toEqual([{ session: { a: '1' } }]);
  });

  it('lets a callback that outlives its transaction write to the store, and keeps nothing of the transaction', async () => {
    const { store, keys } = setup();
    let late!: () => Promise<void>;
    const fired = new Promise<void>((resolve) => {
      void keys.transaction(async () => {
        await keys.set({ session: { a: 'inside' } });
        // A timer made inside the transaction runs after it: its context is still the transaction's.
        late = async () => {
          expect(keys.isInTransaction()).toBe(false);
          await keys.set({ session: { b: 'late' } });
          resolve();
        };
        setTimeout(() => void late(), 5);
      }, 'k');
    });
    await fired;
    expect(store.writes).toEqual([{ session: { a: 'inside' } }, { session: { b: 'late' } }]);
  });
});
