import pino from 'pino';
import {
  Curve,
  DEFAULT_CONNECTION_CONFIG,
  generateSignalPubKey,
  initAuthCreds,
  type AuthenticationCreds,
  type KeyPair,
  type LIDMapping,
  type SignalKeyStoreWithTransaction,
  type SignalRepositoryWithLIDStore,
} from '@whiskeysockets/baileys';
import { KeyedMutex } from '@app/core/keyed-mutex';
import {
  fromJsonSafe,
  MemorySignalKeyStore,
  toJsonSafe,
  type SerializedKeyStore,
} from '../common/memory-key-store';

/** Public keys of a linked device, as uploaded at registration and through `encrypt set`. */
export interface DeviceKeyBundle {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: { id: number; publicKey: Buffer; signature: Buffer };
  preKey?: { id: number; publicKey: Buffer };
}

export interface PhoneState {
  creds: unknown;
  keys: SerializedKeyStore;
  nextPreKeyId: number;
}

export type LidResolver = (pnJids: string[]) => Promise<LIDMapping[] | undefined>;

const silentLogger = pino({ level: 'silent' });
/** libsignal ids are 24-bit; the phone's own one-time prekeys count up from here. */
const MAX_PREKEY_ID = 0xffffff;

/**
 * A primary phone (device 0) as a Signal party, built from Baileys' own Signal repository. Its identity
 * key pair is also the account's ADV key, as on real WhatsApp, so Baileys' own-device fan-out
 * (`deviceSentMessage`) and the phone's history sync decrypt under the identity Baileys pinned at
 * pairing.
 */
export class SimulatedPhone {
  private readonly repository: SignalRepositoryWithLIDStore;
  private readonly sessionLocks = new KeyedMutex();

  private constructor(
    private readonly creds: AuthenticationCreds,
    private readonly store: MemorySignalKeyStore,
    private nextPreKeyId: number,
    resolveLids: LidResolver,
  ) {
    // Not Baileys' addTransactionCapability: its AsyncLocalStorage taxes every promise of the process,
    // and an in-memory store needs no commit. Each session is already serialised by `sessionLocks`.
    const keys: SignalKeyStoreWithTransaction = {
      get: (type, ids) => store.get(type, ids),
      set: (data) => store.set(data),
      isInTransaction: () => false,
      transaction: (exec) => exec(),
    };
    this.repository = DEFAULT_CONNECTION_CONFIG.makeSignalRepository(
      { creds, keys },
      silentLogger,
      resolveLids,
    );
  }

  static create(resolveLids: LidResolver): SimulatedPhone {
    return new SimulatedPhone(initAuthCreds(), new MemorySignalKeyStore(), 1, resolveLids);
  }

  static restore(state: PhoneState, resolveLids: LidResolver): SimulatedPhone {
    return new SimulatedPhone(
      fromJsonSafe<AuthenticationCreds>(state.creds),
      MemorySignalKeyStore.fromJSON(state.keys),
      state.nextPreKeyId,
      resolveLids,
    );
  }

  /** The account's identity (and ADV signing) key pair. */
  get identityKeyPair(): KeyPair {
    return this.creds.signedIdentityKey;
  }

  /** What a companion fetching this phone's keys gets: it always includes a fresh one-time prekey. */
  async issueKeyBundle(): Promise<DeviceKeyBundle> {
    const id = this.nextPreKeyId;
    this.nextPreKeyId = id >= MAX_PREKEY_ID ? 1 : id + 1;
    const keyPair = Curve.generateKeyPair();
    this.store.set({ 'pre-key': { [String(id)]: keyPair } });
    const signed = this.creds.signedPreKey;
    return {
      registrationId: this.creds.registrationId,
      identityKey: Buffer.from(this.creds.signedIdentityKey.public),
      signedPreKey: {
        id: signed.keyId,
        publicKey: Buffer.from(signed.keyPair.public),
        signature: Buffer.from(signed.signature),
      },
      preKey: { id, publicKey: Buffer.from(keyPair.public) },
    };
  }

  /**
   * Encrypts for one linked device (`lid:device@lid`). Without a session the phone starts one from the
   * device's bundle, which `takeBundle` supplies (consuming one of its one-time prekeys).
   */
  encrypt(
    deviceJid: string,
    plaintext: Uint8Array,
    takeBundle: () => DeviceKeyBundle,
  ): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Uint8Array }> {
    return this.sessionLocks.run(deviceJid, async () => {
      const { exists } = await this.repository.validateSession(deviceJid);
      if (!exists) {
        const bundle = takeBundle();
        await this.repository.injectE2ESession({
          jid: deviceJid,
          session: {
            registrationId: bundle.registrationId,
            identityKey: generateSignalPubKey(bundle.identityKey),
            signedPreKey: {
              keyId: bundle.signedPreKey.id,
              publicKey: generateSignalPubKey(bundle.signedPreKey.publicKey),
              signature: bundle.signedPreKey.signature,
            },
            preKey: bundle.preKey
              ? { keyId: bundle.preKey.id, publicKey: generateSignalPubKey(bundle.preKey.publicKey) }
              : undefined,
          },
        });
      }
      return this.repository.encryptMessage({ jid: deviceJid, data: plaintext });
    });
  }

  decrypt(deviceJid: string, type: 'pkmsg' | 'msg', ciphertext: Uint8Array): Promise<Uint8Array> {
    return this.sessionLocks.run(deviceJid, () =>
      this.repository.decryptMessage({ jid: deviceJid, type, ciphertext }),
    );
  }

  /** Forgets the session with a device, e.g. when it asks for a retry with fresh keys. */
  forgetSession(deviceJid: string): Promise<void> {
    return this.sessionLocks.run(deviceJid, () => this.repository.deleteSession([deviceJid]));
  }

  exportState(): PhoneState {
    return { creds: toJsonSafe(this.creds), keys: this.store.toJSON(), nextPreKeyId: this.nextPreKeyId };
  }
}
