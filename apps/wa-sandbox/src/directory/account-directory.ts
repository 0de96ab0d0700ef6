import { randomInt } from 'node:crypto';
import type { LIDMapping } from '@whiskeysockets/baileys';
import { Account, type SerializedAccount } from './account';
import { LID_SERVER, lidJid, parseJid, PN_SERVER } from './jids';
import type { LinkedDevice } from './linked-device';
import { OutboxSequence } from '../messaging/outbox';
import { SimulatedPhone } from '../phone/simulated-phone';

export interface ResolvedJid {
  account: Account;
  deviceId: number;
  /** The linked device, or undefined for device 0 (the simulated primary phone). */
  device?: LinkedDevice;
}

/** Phone number ↔ LID directory of every account the sandbox knows, with their devices. */
export class AccountDirectory {
  private readonly byPhone = new Map<string, Account>();
  private readonly byLid = new Map<string, Account>();
  private sequence = new OutboxSequence();

  /** Baileys' Signal repository asks this when it meets a PN address. */
  readonly resolveLids = async (pnJids: string[]): Promise<LIDMapping[]> => {
    const out: LIDMapping[] = [];
    for (const jid of pnJids) {
      const parsed = parseJid(jid);
      const account = parsed && parsed.server === PN_SERVER ? this.byPhone.get(parsed.user) : undefined;
      if (account && parsed) out.push({ pn: jid, lid: lidJid(account.lidUser, parsed.device) });
    }
    return out;
  };

  get size(): number {
    return this.byPhone.size;
  }

  get(phone: string): Account | undefined {
    return this.byPhone.get(phone);
  }

  all(): IterableIterator<Account> {
    return this.byPhone.values();
  }

  deviceCount(): number {
    let n = 0;
    for (const a of this.byPhone.values()) n += a.devices.size;
    return n;
  }

  /** The account of a PN or LID user part. */
  findByUser(user: string): Account | undefined {
    return this.byPhone.get(user) ?? this.byLid.get(user);
  }

  /** Resolves `user[:device]@s.whatsapp.net|lid` to an account and device. */
  resolveJid(jid: string | undefined): ResolvedJid | undefined {
    const parsed = parseJid(jid);
    if (!parsed) return undefined;
    const account =
      parsed.server === PN_SERVER
        ? this.byPhone.get(parsed.user)
        : parsed.server === LID_SERVER
          ? this.byLid.get(parsed.user)
          : undefined;
    if (!account) return undefined;
    return {
      account,
      deviceId: parsed.device,
      device: parsed.device ? account.devices.get(parsed.device) : undefined,
    };
  }

  /** The account of `phone`, created (with a new LID and primary phone) if unknown. */
  ensure(phone: string, name?: string): { account: Account; created: boolean } {
    const existing = this.byPhone.get(phone);
    if (existing) {
      if (name) existing.name = name;
      return { account: existing, created: false };
    }
    const account = new Account(
      phone,
      this.allocateLidUser(),
      name ?? phone,
      new Date(),
      randomInt(1, 2 ** 31),
      SimulatedPhone.create(this.resolveLids),
      this.sequence,
    );
    this.add(account);
    return { account, created: true };
  }

  clear(): void {
    this.byPhone.clear();
    this.byLid.clear();
    this.sequence = new OutboxSequence();
  }

  toJSON(): SerializedAccount[] {
    return [...this.byPhone.values()].map((a) => a.toJSON());
  }

  /** Replaces every account with the serialized ones. */
  restore(accounts: readonly SerializedAccount[]): void {
    this.clear();
    for (const data of accounts) {
      this.add(
        Account.fromJSON(data, SimulatedPhone.restore(data.primaryPhone, this.resolveLids), this.sequence),
      );
    }
  }

  private add(account: Account): void {
    this.byPhone.set(account.phone, account);
    this.byLid.set(account.lidUser, account);
  }

  /** LID users look like real ones (15 digits starting with 1) and never collide with a phone. */
  private allocateLidUser(): string {
    for (;;) {
      const candidate = String(100_000_000_000_000 + randomInt(0, 2 ** 48 - 1));
      if (!this.byLid.has(candidate) && !this.byPhone.has(candidate)) return candidate;
    }
  }
}
