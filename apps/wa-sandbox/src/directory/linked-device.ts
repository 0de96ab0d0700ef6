import type { BinaryNode } from '@whiskeysockets/baileys';
import { lidJid, pnJid } from './jids';
import { PreKeyPool, type SerializedPreKeyPool } from './prekey-pool';
import type { DeviceKeyBundle } from '../phone/simulated-phone';

export interface SignedPreKey {
  id: number;
  publicKey: Buffer;
  signature: Buffer;
}

export interface SerializedLinkedDevice {
  deviceId: number;
  keyIndex: number;
  noiseKey: string;
  identityKey: string;
  registrationId: number;
  signedPreKey: { id: number; publicKey: string; signature: string };
  preKeys: SerializedPreKeyPool;
  platform: string;
  linkedAt: string;
  logins: number;
  doubleConnections: number;
  historySynced: boolean;
}

/** Most stanzas a device may have waiting while offline; older ones are dropped first. */
export const OFFLINE_QUEUE_LIMIT = 500;

/** A companion linked to an account: the keys it registered and what waits for its next login. */
export class LinkedDevice {
  readonly preKeys: PreKeyPool;
  /** Encrypted stanzas for this device, delivered (with `offline`) at its next login. */
  readonly offlineQueue: BinaryNode[] = [];
  logins = 0;
  doubleConnections = 0;
  historySynced = false;

  constructor(
    readonly phone: string,
    readonly lidUser: string,
    readonly deviceId: number,
    readonly keyIndex: number,
    /** The companion's Noise static key; a login must come from it. */
    readonly noiseKey: Buffer,
    readonly identityKey: Buffer,
    readonly registrationId: number,
    public signedPreKey: SignedPreKey,
    readonly platform: string,
    readonly linkedAt: Date,
    preKeys = new PreKeyPool(),
  ) {
    this.preKeys = preKeys;
  }

  get jid(): string {
    return pnJid(this.phone, this.deviceId);
  }

  get lidJid(): string {
    return lidJid(this.lidUser, this.deviceId);
  }

  /** The device's bundle for a new Signal session; consumes one one-time prekey when any is left. */
  takeKeyBundle(): DeviceKeyBundle {
    return {
      registrationId: this.registrationId,
      identityKey: this.identityKey,
      signedPreKey: this.signedPreKey,
      preKey: this.preKeys.take(),
    };
  }

  enqueueOffline(stanza: BinaryNode): void {
    this.offlineQueue.push(stanza);
    if (this.offlineQueue.length > OFFLINE_QUEUE_LIMIT) this.offlineQueue.shift();
  }

  /** Stanzas a closed connection never acknowledged go back in front of what was queued after them. */
  requeueOffline(stanzas: readonly BinaryNode[]): void {
    this.offlineQueue.unshift(...stanzas);
    while (this.offlineQueue.length > OFFLINE_QUEUE_LIMIT) this.offlineQueue.shift();
  }

  toJSON(): SerializedLinkedDevice {
    return {
      deviceId: this.deviceId,
      keyIndex: this.keyIndex,
      noiseKey: this.noiseKey.toString('base64'),
      identityKey: this.identityKey.toString('base64'),
      registrationId: this.registrationId,
      signedPreKey: {
        id: this.signedPreKey.id,
        publicKey: this.signedPreKey.publicKey.toString('base64'),
        signature: this.signedPreKey.signature.toString('base64'),
      },
      preKeys: this.preKeys.toJSON(),
      platform: this.platform,
      linkedAt: this.linkedAt.toISOString(),
      logins: this.logins,
      doubleConnections: this.doubleConnections,
      historySynced: this.historySynced,
    };
  }

  static fromJSON(phone: string, lidUser: string, data: SerializedLinkedDevice): LinkedDevice {
    const b64 = (s: string) => Buffer.from(s, 'base64');
    const device = new LinkedDevice(
      phone,
      lidUser,
      data.deviceId,
      data.keyIndex,
      b64(data.noiseKey),
      b64(data.identityKey),
      data.registrationId,
      {
        id: data.signedPreKey.id,
        publicKey: b64(data.signedPreKey.publicKey),
        signature: b64(data.signedPreKey.signature),
      },
      data.platform,
      new Date(data.linkedAt),
      PreKeyPool.fromJSON(data.preKeys),
    );
    device.logins = data.logins;
    device.doubleConnections = data.doubleConnections;
    device.historySynced = data.historySynced;
    return device;
  }
}
