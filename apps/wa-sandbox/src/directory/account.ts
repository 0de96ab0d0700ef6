import { lidJid, pnJid } from './jids';
import { LinkedDevice, type SerializedLinkedDevice } from './linked-device';
import { Outbox, type OutboxSequence } from '../messaging/outbox';
import type { PhoneState, SimulatedPhone } from '../phone/simulated-phone';

export interface SerializedAccount {
  phone: string;
  lidUser: string;
  name: string;
  createdAt: string;
  rawId: number;
  nextDeviceId: number;
  nextKeyIndex: number;
  primaryPhone: PhoneState;
  devices: SerializedLinkedDevice[];
}

/**
 * A WhatsApp account: a phone number with its LID, its primary phone (a Signal party) and the
 * companions linked to it. Contacts are accounts too, usually without linked devices.
 */
export class Account {
  readonly devices = new Map<number, LinkedDevice>();
  readonly outbox: Outbox;

  constructor(
    readonly phone: string,
    readonly lidUser: string,
    public name: string,
    readonly createdAt: Date,
    /** `ADVDeviceIdentity.rawId`: ties every device identity to this account. */
    readonly rawId: number,
    readonly primaryPhone: SimulatedPhone,
    sequence: OutboxSequence,
    public nextDeviceId = 1,
    public nextKeyIndex = 1,
  ) {
    this.outbox = new Outbox(sequence);
  }

  get pnJid(): string {
    return pnJid(this.phone);
  }

  get lidJid(): string {
    return lidJid(this.lidUser);
  }

  toJSON(): SerializedAccount {
    return {
      phone: this.phone,
      lidUser: this.lidUser,
      name: this.name,
      createdAt: this.createdAt.toISOString(),
      rawId: this.rawId,
      nextDeviceId: this.nextDeviceId,
      nextKeyIndex: this.nextKeyIndex,
      primaryPhone: this.primaryPhone.exportState(),
      devices: [...this.devices.values()].map((d) => d.toJSON()),
    };
  }

  static fromJSON(data: SerializedAccount, primaryPhone: SimulatedPhone, sequence: OutboxSequence): Account {
    const account = new Account(
      data.phone,
      data.lidUser,
      data.name,
      new Date(data.createdAt),
      data.rawId,
      primaryPhone,
      sequence,
      data.nextDeviceId,
      data.nextKeyIndex,
    );
    for (const d of data.devices)
      account.devices.set(d.deviceId, LinkedDevice.fromJSON(data.phone, data.lidUser, d));
    return account;
  }
}
