import type { LeaseRef } from '../lease/lease';

/** Why a fenced write was refused. */
export type FencedWriteReason =
  'no-lease' | 'owner-changed' | 'epoch-changed' | 'lease-expired' | 'newer-write';

/** The lease row as the refused write found it (locked, so it was the truth at that moment). */
export interface FencedWriteCurrent {
  readonly ownerId: string;
  readonly epoch: number;
  readonly live: boolean;
}

/**
 * A write of auth state was refused because the writer no longer holds the session's lease: another
 * worker acquired it (a newer epoch exists), or it expired. The writer must stop using the session —
 * close the socket and drop the in-memory state — never retry the write.
 */
export class FencedWriteError extends Error {
  override readonly name = 'FencedWriteError';

  constructor(
    readonly reason: FencedWriteReason,
    readonly attempted: LeaseRef,
    readonly current: FencedWriteCurrent | null,
  ) {
    super(
      `auth state write for ${attempted.locationId} by ${attempted.ownerId} epoch ${attempted.epoch} refused: ${reason}` +
        (current
          ? ` (lease: ${current.ownerId} epoch ${current.epoch}, ${current.live ? 'live' : 'expired'})`
          : ''),
    );
  }

  get locationId(): string {
    return this.attempted.locationId;
  }
}
