import type { ClientConnection } from './client-connection';
import type { Account } from '../directory/account';
import type { LinkedDevice } from '../directory/linked-device';

/** Every open connection, which QR refs belong to which, and which device each is logged in as. */
export class ConnectionRegistry {
  private readonly connections = new Set<ClientConnection>();
  private readonly byRef = new Map<string, ClientConnection>();
  /** Keyed by device JID: device objects are replaced when a snapshot is restored. */
  private readonly byDevice = new Map<string, Set<ClientConnection>>();

  get size(): number {
    return this.connections.size;
  }

  add(connection: ClientConnection): void {
    this.connections.add(connection);
  }

  remove(connection: ClientConnection): void {
    this.connections.delete(connection);
    this.releaseRefs(connection);
    this.unbind(connection);
  }

  all(): ClientConnection[] {
    return [...this.connections];
  }

  registerRefs(connection: ClientConnection, refs: readonly string[]): void {
    connection.qrRefs = [...refs];
    for (const ref of refs) this.byRef.set(ref, connection);
  }

  releaseRefs(connection: ClientConnection): void {
    for (const ref of connection.qrRefs) this.byRef.delete(ref);
    connection.qrRefs = [];
  }

  connectionForRef(ref: string): ClientConnection | undefined {
    return this.byRef.get(ref);
  }

  bind(connection: ClientConnection, account: Account, device: LinkedDevice): void {
    connection.account = account;
    connection.device = device;
    let set = this.byDevice.get(device.jid);
    if (!set) this.byDevice.set(device.jid, (set = new Set()));
    set.add(connection);
  }

  /** Detaches a connection from its device (it is being ended, or already closed). */
  unbind(connection: ClientConnection): void {
    const jid = connection.device?.jid;
    if (!jid) return;
    const set = this.byDevice.get(jid);
    set?.delete(connection);
    if (set && set.size === 0) this.byDevice.delete(jid);
  }

  /** Connections logged in as this device and not being ended. */
  liveFor(device: LinkedDevice): ClientConnection[] {
    const set = this.byDevice.get(device.jid);
    return set ? [...set].filter((c) => c.isLive) : [];
  }

  /** Connections bound to this device, whatever their state (what the stats call "open"). */
  openFor(device: LinkedDevice): number {
    return this.byDevice.get(device.jid)?.size ?? 0;
  }

  loggedIn(): ClientConnection[] {
    return [...this.connections].filter((c) => c.stage === 'logged-in' && c.isLive);
  }
}
