import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether the event being handled was delivered before (JetStream's delivery count > 1). The limiter
 * gives such events the next free slot instead of a place behind every event refused after them: an
 * event that came back on its promised slot and just missed it must not wait another window.
 */
const storage = new AsyncLocalStorage<{ retry: boolean }>();

export function withDeliveryAttempt<T>(deliveryCount: number, work: () => T): T {
  return storage.run({ retry: deliveryCount > 1 }, work);
}

export function isRetriedDelivery(): boolean {
  return storage.getStore()?.retry ?? false;
}
