/** A lease as the database granted it. `expiresAt` is the database's clock, for display and logs only. */
export interface Lease {
  readonly locationId: string;
  readonly ownerId: string;
  /** Fencing token: +1 on every acquisition, never reused for a location. */
  readonly epoch: number;
  readonly expiresAt: Date;
}

/** What identifies one holding of a lease: enough to renew it, release it or fence a write with it. */
export type LeaseRef = Pick<Lease, 'locationId' | 'ownerId' | 'epoch'>;

/** Who holds a location's lease row now; `live` is judged by the database clock. */
export interface LeaseHolder {
  readonly ownerId: string;
  readonly epoch: number;
  readonly expiresAt: Date;
  readonly live: boolean;
}

/**
 * `pg` returns int8 as a string. Epochs never get near 2^53, but a value that did would break every
 * fencing comparison if rounded, so it fails loudly instead.
 */
export function parseEpoch(value: string | number): number {
  const epoch = Number(value);
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new RangeError(`invalid lease epoch ${String(value)}`);
  return epoch;
}
