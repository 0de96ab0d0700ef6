/**
 * The one-time prekeys a linked device uploaded, handed out first-in first-out, one per new Signal
 * session. Stored packed (4-byte id + 32-byte key per entry) because a device uploads 812 of them
 * and a load run holds a thousand devices.
 */

const KEY_LENGTH = 32;

export interface OneTimePreKey {
  id: number;
  publicKey: Buffer;
}

export interface SerializedPreKeyPool {
  ids: number[];
  /** Base64 of the keys, 32 bytes each, in the order of `ids`. */
  keys: string;
}

export class PreKeyPool {
  private ids = new Uint32Array(0);
  private keys = Buffer.alloc(0);
  private head = 0;
  private tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  add(entries: readonly OneTimePreKey[]): void {
    this.reserve(entries.length);
    for (const { id, publicKey } of entries) {
      if (publicKey.length !== KEY_LENGTH)
        throw new Error(`prekey ${id} is ${publicKey.length} bytes, not 32`);
      this.ids[this.tail] = id;
      publicKey.copy(this.keys, this.tail * KEY_LENGTH);
      this.tail++;
    }
  }

  /** Removes and returns the oldest prekey, or undefined when the pool is empty. */
  take(): OneTimePreKey | undefined {
    if (this.head === this.tail) return undefined;
    const index = this.head++;
    const publicKey = Buffer.from(this.keys.subarray(index * KEY_LENGTH, (index + 1) * KEY_LENGTH));
    const id = this.ids[index];
    if (this.head === this.tail) this.head = this.tail = 0;
    return { id, publicKey };
  }

  clear(): void {
    this.head = this.tail = 0;
  }

  toJSON(): SerializedPreKeyPool {
    return {
      ids: Array.from(this.ids.subarray(this.head, this.tail)),
      keys: this.keys.subarray(this.head * KEY_LENGTH, this.tail * KEY_LENGTH).toString('base64'),
    };
  }

  static fromJSON(data: SerializedPreKeyPool): PreKeyPool {
    const keys = Buffer.from(data.keys, 'base64');
    if (keys.length !== data.ids.length * KEY_LENGTH)
      throw new Error('prekey pool: ids and keys differ in length');
    const pool = new PreKeyPool();
    pool.add(
      data.ids.map((id, i) => ({ id, publicKey: keys.subarray(i * KEY_LENGTH, (i + 1) * KEY_LENGTH) })),
    );
    return pool;
  }

  private reserve(extra: number): void {
    const capacity = this.ids.length;
    if (this.tail + extra <= capacity) return;
    const live = this.tail - this.head;
    // Compact in place when the consumed head makes room; grow only when the live keys need it.
    const nextCapacity = live + extra <= capacity ? capacity : Math.max(live + extra, capacity * 2);
    const ids = new Uint32Array(nextCapacity);
    const keys = Buffer.alloc(nextCapacity * KEY_LENGTH);
    ids.set(this.ids.subarray(this.head, this.tail));
    this.keys.copy(keys, 0, this.head * KEY_LENGTH, this.tail * KEY_LENGTH);
    this.ids = ids;
    this.keys = keys;
    this.head = 0;
    this.tail = live;
  }
}
