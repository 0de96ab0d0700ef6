import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { initAuthCreds, type AuthenticationCreds, type AuthenticationState } from '@whiskeysockets/baileys';
import {
  fromJsonSafe,
  MemorySignalKeyStore,
  toJsonSafe,
  type SerializedKeyStore,
} from '../common/memory-key-store';

interface AuthFile {
  creds: unknown;
  keys: SerializedKeyStore;
}

/** Debounce for writing the auth file after creds or keys change. */
const SAVE_DELAY_MS = 500;

/** A companion's creds and Signal keys: in memory, optionally mirrored to one JSON file. */
export class DriverAuthStore {
  private saveTimer?: NodeJS.Timeout;

  private constructor(
    readonly creds: AuthenticationCreds,
    readonly keys: MemorySignalKeyStore,
    private readonly file?: string,
  ) {}

  static load(file?: string): DriverAuthStore {
    if (file && existsSync(file)) {
      const data = JSON.parse(readFileSync(file, 'utf8')) as AuthFile;
      return new DriverAuthStore(
        fromJsonSafe<AuthenticationCreds>(data.creds),
        MemorySignalKeyStore.fromJSON(data.keys),
        file,
      );
    }
    return new DriverAuthStore(initAuthCreds(), new MemorySignalKeyStore(), file);
  }

  /** The state Baileys gets; key writes schedule a save. */
  get state(): AuthenticationState {
    return {
      creds: this.creds,
      keys: {
        get: (type, ids) => this.keys.get(type, ids),
        set: (data) => {
          this.keys.set(data);
          this.scheduleSave();
        },
      },
    };
  }

  updateCreds(update: Partial<AuthenticationCreds>): void {
    Object.assign(this.creds, update);
    this.scheduleSave();
  }

  scheduleSave(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.save(), SAVE_DELAY_MS);
  }

  save(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.file) return;
    const data: AuthFile = { creds: toJsonSafe(this.creds), keys: this.keys.toJSON() };
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.file);
  }
}
