import {
  BufferJSON,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';

type KeyType = keyof SignalDataTypeMap;

/** JSON-safe form: `{ [type]: { [id]: value } }` with byte arrays as `{ type: 'Buffer', data: base64 }`. */
export type SerializedKeyStore = Record<string, Record<string, unknown>>;

/** Baileys' Signal key store kept in memory, exportable as JSON (sandbox snapshots, driver auth files). */
export class MemorySignalKeyStore implements SignalKeyStore {
  private readonly byType = new Map<KeyType, Map<string, unknown>>();

  get<T extends KeyType>(type: T, ids: string[]): { [id: string]: SignalDataTypeMap[T] } {
    const out: { [id: string]: SignalDataTypeMap[T] } = {};
    const entries = this.byType.get(type);
    if (!entries) return out;
    for (const id of ids) {
      const value = entries.get(id) as SignalDataTypeMap[T] | undefined;
      if (value !== undefined) out[id] = value;
    }
    return out;
  }

  set(data: SignalDataSet): void {
    for (const type of Object.keys(data) as KeyType[]) {
      let entries = this.byType.get(type);
      if (!entries) this.byType.set(type, (entries = new Map<string, unknown>()));
      for (const [id, value] of Object.entries(data[type] ?? {})) {
        if (value === null || value === undefined) entries.delete(id);
        else entries.set(id, value);
      }
    }
  }

  clear(): void {
    this.byType.clear();
  }

  toJSON(): SerializedKeyStore {
    const out: SerializedKeyStore = {};
    for (const [type, entries] of this.byType) out[type] = Object.fromEntries(entries);
    return toJsonSafe(out);
  }

  static fromJSON(data: SerializedKeyStore): MemorySignalKeyStore {
    const store = new MemorySignalKeyStore();
    const revived = fromJsonSafe<SerializedKeyStore>(data);
    for (const [type, entries] of Object.entries(revived)) {
      store.byType.set(type as KeyType, new Map(Object.entries(entries)));
    }
    return store;
  }
}

/** Deep copy with every Buffer/Uint8Array turned into Baileys' `{ type: 'Buffer', data }` form. */
export function toJsonSafe<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, BufferJSON.replacer)) as T;
}

/** Inverse of `toJsonSafe`. */
export function fromJsonSafe<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value), BufferJSON.reviver) as T;
}
