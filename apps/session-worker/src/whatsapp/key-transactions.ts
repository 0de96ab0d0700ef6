/**
 * Transactions over a session's Signal key store, for every socket of the process through ONE
 * AsyncLocalStorage.
 *
 * Why not Baileys' own `addTransactionCapability`: it creates an AsyncLocalStorage per socket, and on
 * Node 20 every storage that has ever run stays hooked into the creation of every promise of the
 * process (Baileys never disables it). With 25 sockets a promise cost 45 times what it costs
 * without, with 100 sockets 160 times, and reconnects add more; a worker spent a sixth of its CPU in
 * that hook at 100 messages/s. The socket's key store object is re-pointed at this one
 * (`adoptKeyTransactions`), so Baileys' storage never runs.
 *
 * Semantics follow Baileys': inside `transaction(work, key)` reads go through a per-transaction
 * cache and writes are collected, then committed together when `work` resolves; transactions with
 * the same key run one at a time; a nested transaction joins the outer one. Two things differ, on
 * purpose, for a database that can restart under a live session:
 * - a read or a commit that fails because the database is unavailable is retried (with backoff)
 *   while the connection lives, instead of failing the message being decrypted;
 * - nothing is retried once the connection is closing, and a fenced write is never retried.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { KeyedMutex } from '@app/core/keyed-mutex';
import { backoffDelayMs, backoffPolicy, type BackoffPolicy } from '@app/messaging/backoff';

/** Values by id, per key type; `null` deletes. The shape of Baileys' `SignalDataSet`. */
export type KeyData = { [type: string]: { [id: string]: unknown } | undefined };

/** The store being made transactional (Baileys' `SignalKeyStore`). */
export interface KeyStore {
  get(type: string, ids: string[]): Promise<{ [id: string]: unknown }>;
  set(data: KeyData): Promise<void>;
}

/** What Baileys calls on `authState.keys` (its `SignalKeyStoreWithTransaction`). */
export interface TransactionalKeys extends KeyStore {
  isInTransaction(): boolean;
  transaction<T>(work: () => Promise<T>, key: string): Promise<T>;
}

export interface KeyTransactionOptions {
  /** Whether a failure is worth another try (the database being unavailable). */
  isTransient: (error: unknown) => boolean;
  /** False once the connection is closing: then a failure is final. */
  isLive: () => boolean;
  /** Called before each retry, for the log. */
  onRetry?: (what: 'read' | 'commit', attempt: number, error: unknown) => void;
  /** Pause before the 1st, 2nd, ... retry; the last one repeats. */
  retryDelaysMs?: readonly number[];
  /** Give up after this long even while live (a database gone for good must not stall forever). */
  giveUpAfterMs?: number;
}

interface Transaction {
  readonly owner: KeyTransactions;
  /** Set when the transaction has committed or failed (see `transaction`). */
  done: boolean;
  readonly cache: Map<string, Map<string, unknown>>;
  readonly mutations: Map<string, Map<string, unknown>>;
}

const scope = new AsyncLocalStorage<Transaction>();

/** Doubling from 0.1 s to 2 s: a restart of a few seconds costs a few tries. */
const RETRY_DELAYS_MS = [100, 200, 400, 800, 1_600, 2_000];
const GIVE_UP_AFTER_MS = 60_000;

export class KeyTransactions implements TransactionalKeys {
  private readonly byKey = new KeyedMutex();
  private readonly retryBackoff: BackoffPolicy;
  private readonly giveUpAfterMs: number;

  constructor(
    private readonly store: KeyStore,
    private readonly options: KeyTransactionOptions,
  ) {
    this.retryBackoff = backoffPolicy(options.retryDelaysMs ?? RETRY_DELAYS_MS, 0);
    this.giveUpAfterMs = options.giveUpAfterMs ?? GIVE_UP_AFTER_MS;
  }

  isInTransaction(): boolean {
    return this.current() !== undefined;
  }

  async get(type: string, ids: string[]): Promise<{ [id: string]: unknown }> {
    const tx = this.current();
    if (!tx) return this.retrying('read', () => this.store.get(type, ids));
    const cached = mapOf(tx.cache, type);
    const missing = ids.filter((id) => !cached.has(id));
    if (missing.length > 0) {
      const fetched = await this.retrying('read', () => this.store.get(type, missing));
      // Absent ids are cached as absent too, so a transaction reads each id once.
      for (const id of missing) cached.set(id, fetched[id] ?? null);
    }
    const result: { [id: string]: unknown } = {};
    for (const id of ids) {
      const value = cached.get(id);
      if (value !== undefined && value !== null) result[id] = value;
    }
    return result;
  }

  async set(data: KeyData): Promise<void> {
    const tx = this.current();
    if (!tx) return this.retrying('commit', () => this.store.set(data));
    for (const [type, values] of Object.entries(data)) {
      if (!values) continue;
      const cached = mapOf(tx.cache, type);
      const changed = mapOf(tx.mutations, type);
      for (const [id, value] of Object.entries(values)) {
        cached.set(id, value ?? null);
        changed.set(id, value ?? null);
      }
    }
  }

  async transaction<T>(work: () => Promise<T>, key: string): Promise<T> {
    if (this.current()) return work();
    return this.byKey.run(key, async () => {
      const tx: Transaction = { owner: this, done: false, cache: new Map(), mutations: new Map() };
      try {
        const result = await scope.run(tx, work);
        if (tx.mutations.size > 0) {
          const data: KeyData = {};
          for (const [type, values] of tx.mutations) data[type] = Object.fromEntries(values);
          await this.retrying('commit', () => this.store.set(data));
        }
        return result;
      } finally {
        // Timers and sockets created inside `work` keep this store as their async context for as long
        // as they live (Baileys' 5-minute message caches, say): emptied, it holds no key material, and
        // done, it no longer captures what such a late callback writes (that goes to the store).
        tx.done = true;
        tx.cache.clear();
        tx.mutations.clear();
      }
    });
  }

  /** The running transaction of THIS store: another socket's transaction is not ours to join. */
  private current(): Transaction | undefined {
    const tx = scope.getStore();
    return tx?.owner === this && !tx.done ? tx : undefined;
  }

  private async retrying<T>(what: 'read' | 'commit', operation: () => Promise<T>): Promise<T> {
    const { isTransient, isLive, onRetry } = this.options;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (!isTransient(error) || !isLive() || Date.now() - started >= this.giveUpAfterMs) throw error;
        onRetry?.(what, attempt, error);
        const delayMs = backoffDelayMs(attempt, this.retryBackoff);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (!isLive()) throw error;
      }
    }
  }
}

function mapOf(maps: Map<string, Map<string, unknown>>, type: string): Map<string, unknown> {
  let map = maps.get(type);
  if (!map) maps.set(type, (map = new Map<string, unknown>()));
  return map;
}

/**
 * Points the socket's transactional key store (the object Baileys built and shares between the
 * socket and its Signal repository) at `transactions`. Call it right after the socket is made,
 * before it connects: from then on Baileys' own transaction storage is never used.
 */
export function adoptKeyTransactions(baileysKeys: TransactionalKeys, transactions: KeyTransactions): void {
  baileysKeys.get = (type, ids) => transactions.get(type, ids);
  baileysKeys.set = (data) => transactions.set(data);
  baileysKeys.isInTransaction = () => transactions.isInTransaction();
  baileysKeys.transaction = (work, key) => transactions.transaction(work, key);
}
