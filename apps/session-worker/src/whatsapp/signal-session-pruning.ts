/**
 * Keeps a contact's Signal session record from growing for ever.
 *
 * libsignal-node (the Signal library Baileys uses) closes the previous receiving chain at every
 * ratchet step (each time the conversation changes direction) but never removes it, so a record
 * gains a chain, with its counters and keys, every time the business replies and the contact writes
 * back. In the soak run the worker's memory grew 35–44 % in 25 minutes this way (the records live in
 * Baileys' key cache), and every message's key write serialises the whole, growing record. The
 * Signal reference implementation (libsignal-java) keeps five receiving chains; so does this.
 *
 * A message for a dropped chain (one delayed past five direction changes) cannot be decrypted; the
 * sender is then asked to retry, and re-encrypts it under the current chain, as for any other
 * decryption failure.
 */

/** Closed receiving chains kept per session, newest first (libsignal-java's limit). */
export const MAX_CLOSED_RECEIVING_CHAINS = 5;

const RECEIVING = 2;

interface SerializedChain {
  chainType?: unknown;
  chainKey?: { key?: unknown } | null;
}

/**
 * Drops all but the newest `MAX_CLOSED_RECEIVING_CHAINS` closed receiving chains of every session in
 * a serialised record (`SessionRecord.serialize()`: `{ _sessions: { [baseKey]: { _chains } } }`), in
 * place. Chains are kept in the order they were added (their keys are base64 strings, so object key
 * order is insertion order). Returns how many chains were dropped; anything not shaped like a record
 * is left alone.
 */
export function pruneSessionRecord(record: unknown): number {
  const sessions = (record as { _sessions?: unknown } | null)?._sessions;
  if (!sessions || typeof sessions !== 'object') return 0;
  let dropped = 0;
  for (const entry of Object.values(sessions as Record<string, unknown>)) {
    const chains = (entry as { _chains?: unknown } | null)?._chains;
    if (!chains || typeof chains !== 'object') continue;
    const closed = Object.entries(chains as Record<string, SerializedChain>)
      .filter(([, chain]) => chain?.chainType === RECEIVING && !chain.chainKey?.key)
      .map(([id]) => id);
    for (const id of closed.slice(0, Math.max(0, closed.length - MAX_CLOSED_RECEIVING_CHAINS))) {
      delete (chains as Record<string, unknown>)[id];
      dropped++;
    }
  }
  return dropped;
}
