import type { ValueTransformer } from 'typeorm';

/**
 * `pg` returns int8 as a string because it can exceed 2^53. Our bigint columns are epochs and counters
 * that never get near that, so they are numbers in code; a value that did overflow fails loudly here
 * instead of being silently rounded (which would break fencing comparisons).
 */
export const bigintTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null): number | null => {
    if (value === null) return null;
    const n = Number(value);
    if (!Number.isSafeInteger(n))
      throw new RangeError(`bigint column value ${String(value)} is not a safe integer`);
    return n;
  },
};
