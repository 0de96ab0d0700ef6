import type { BinaryNode, proto } from '@whiskeysockets/baileys';
import { WebSocketServer } from 'ws';
import type { AccountStats, AccountSummary, SandboxSettings, SandboxStats } from '@app/wa-sandbox-client';
import type { Logger } from './common/logger';
import { SettingsHolder } from './common/settings';
import { ClientConnection, type ConnectionHandler } from './connection/client-connection';
import { ConnectionRegistry } from './connection/connection-registry';
import type { Account } from './directory/account';
import { AccountDirectory } from './directory/account-directory';
import { FaultService } from './faults/fault.service';
import { MessagingService } from './messaging/messaging.service';
import { PairingService } from './pairing/pairing.service';
import { ackFor } from './protocol/nodes';
import type { NoiseServerIdentity } from './protocol/noise-server';
import {
  buildNoiseIdentity,
  createTrustAnchor,
  deserializeTrustAnchor,
  rootPublicKeyHex,
  serializeTrustAnchor,
  type TrustAnchor,
} from './protocol/trust-anchor';
import { IqResponder } from './session/iq-responder';
import { LoginService } from './session/login.service';
import type { SnapshotContent } from './snapshot/snapshot';
import { StatsCounters } from './stats/stats-counters';

export interface WaSandboxOptions {
  settings: SandboxSettings;
  logger: Logger;
  trust?: TrustAnchor;
}

/**
 * The WhatsApp Web stand-in: a WebSocket endpoint for Baileys plus the directory of accounts and
 * simulated phones behind it. Composition root of the connection-level services.
 */
// How often idle clients are looked for; the idle timeout is only as precise as this.
const IDLE_SWEEP_MS = 250;

export class WaSandbox implements ConnectionHandler {
  readonly directory = new AccountDirectory();
  readonly registry = new ConnectionRegistry();
  readonly stats = new StatsCounters();
  readonly settings: SettingsHolder;
  readonly pairing: PairingService;
  readonly messaging: MessagingService;
  readonly faults: FaultService;
  private readonly login: LoginService;
  private readonly iq: IqResponder;
  private readonly logger: Logger;
  private trust: TrustAnchor;
  private identity: NoiseServerIdentity;
  private server?: WebSocketServer;

  private idleSweep?: NodeJS.Timeout;

  constructor(options: WaSandboxOptions) {
    this.logger = options.logger;
    this.settings = new SettingsHolder(options.settings);
    this.trust = options.trust ?? createTrustAnchor();
    this.identity = buildNoiseIdentity(this.trust);
    this.pairing = new PairingService(this.directory, this.registry, this.stats, this.settings, this.logger);
    this.messaging = new MessagingService(
      this.directory,
      this.registry,
      this.stats,
      this.settings,
      this.logger,
    );
    this.faults = new FaultService(this.directory, this.registry, this.stats, this.logger);
    this.login = new LoginService(
      this.directory,
      this.registry,
      this.messaging,
      this.stats,
      this.settings,
      this.logger,
    );
    this.iq = new IqResponder(this.directory, this.pairing, this.faults, this.logger);
  }

  get rootPublicKey(): string {
    return rootPublicKeyHex(this.trust);
  }

  /** Starts accepting companions; resolves with the bound port. Any path is accepted (Baileys uses /ws/chat). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer({
        host,
        port,
        perMessageDeflate: false,
        maxPayload: 32 * 1024 * 1024,
      });
      server.once('error', reject);
      server.once('listening', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
      this.idleSweep = setInterval(() => this.dropIdleClients(), IDLE_SWEEP_MS);
      this.idleSweep.unref();
      server.on('connection', (socket) => {
        this.stats.connectionsAccepted++;
        this.registry.add(new ClientConnection(socket, this.identity, this, this.logger));
      });
      this.server = server;
    });
  }

  /** WhatsApp drops a client that stopped pinging; so does the sandbox, when the setting asks for it. */
  private dropIdleClients(): void {
    const timeoutMs = this.settings.current.clientIdleTimeoutMs;
    if (!timeoutMs) return;
    const now = Date.now();
    for (const connection of this.registry.all()) {
      if (connection.isLive && now - connection.lastFrameAt > timeoutMs) {
        this.stats.idleDisconnects++;
        this.logger.info(
          { conn: connection.id, silentMs: now - connection.lastFrameAt },
          'dropping an idle client',
        );
        connection.terminate();
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.idleSweep);
    for (const connection of this.registry.all()) connection.terminate();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ ConnectionHandler

  async authenticated(connection: ClientConnection, payload: proto.ClientPayload): Promise<void> {
    if (payload.username === null || payload.username === undefined)
      this.pairing.startRegistration(connection, payload);
    else this.login.login(connection, payload);
  }

  async stanza(connection: ClientConnection, stanza: BinaryNode): Promise<void> {
    switch (stanza.tag) {
      case 'iq':
        return this.iq.handle(connection, stanza);
      case 'message':
        return this.messaging.onOutgoingMessage(connection, stanza);
      case 'receipt':
        return this.messaging.onClientReceipt(connection, stanza);
      case 'notification':
      case 'call':
        connection.send(ackFor(stanza, { from: 's.whatsapp.net' }));
        return;
      case 'ack':
        // A message the companion could not handle is acknowledged with an error: it is not sent again.
        if (stanza.attrs.class === 'message' && stanza.attrs.id) connection.acknowledged([stanza.attrs.id]);
        return;
      default:
        // presence, chatstate, ib (unified_session, offline_batch): nothing to answer.
        return;
    }
  }

  handshakeFailed(connection: ClientConnection, error: unknown): void {
    this.stats.handshakeFailures++;
    this.logger.info({ conn: connection.id, err: (error as Error).message }, 'handshake failed');
  }

  closed(connection: ClientConnection): void {
    this.messaging.redeliverUnacked(connection);
    this.registry.remove(connection);
  }

  // ------------------------------------------------------------------ state for the admin API

  accountSummary(account: Account): AccountSummary {
    return {
      phone: account.phone,
      lid: account.lidUser,
      name: account.name,
      createdAt: account.createdAt.toISOString(),
      devices: [...account.devices.values()].map((d) => ({
        deviceId: d.deviceId,
        jid: d.jid,
        lidJid: d.lidJid,
        platform: d.platform,
        linkedAt: d.linkedAt.toISOString(),
        openConnections: this.registry.openFor(d),
        logins: d.logins,
        doubleConnections: d.doubleConnections,
        preKeys: d.preKeys.size,
        offlineQueue: d.offlineQueue.length,
      })),
    };
  }

  statsReport(options: { detail?: boolean; phone?: string } = {}): SandboxStats {
    const accounts = options.phone
      ? [this.directory.get(options.phone)].filter((a): a is Account => a !== undefined)
      : options.detail
        ? [...this.directory.all()].filter((a) => a.devices.size > 0)
        : undefined;
    const perAccount = accounts?.map((a): AccountStats => {
      const devices = [...a.devices.values()].map((d) => ({
        deviceId: d.deviceId,
        open: this.registry.openFor(d),
        logins: d.logins,
        doubleConnections: d.doubleConnections,
      }));
      return { phone: a.phone, open: devices.reduce((n, d) => n + d.open, 0), devices };
    });
    return this.stats.report({
      openConnections: this.registry.size,
      loggedIn: this.registry.loggedIn().length,
      accounts: this.directory.size,
      devices: this.directory.deviceCount(),
      perAccount,
    });
  }

  snapshot(): SnapshotContent {
    return {
      format: 'wa-sandbox-snapshot',
      version: 1,
      createdAt: new Date().toISOString(),
      trust: serializeTrustAnchor(this.trust),
      settings: this.settings.current,
      accounts: this.directory.toJSON(),
    };
  }

  /** Replaces the whole state; live connections are dropped (their devices may no longer exist). */
  restore(content: SnapshotContent): void {
    for (const connection of this.registry.all()) connection.terminate();
    this.trust = deserializeTrustAnchor(content.trust);
    this.identity = buildNoiseIdentity(this.trust);
    this.settings.update(content.settings);
    this.directory.restore(content.accounts);
    this.logger.info(
      { accounts: this.directory.size, devices: this.directory.deviceCount() },
      'snapshot restored',
    );
  }

  /** Forgets every account and counter; keeps the trust anchor so running clients still trust us. */
  reset(): void {
    for (const connection of this.registry.all()) connection.terminate();
    this.directory.clear();
    this.stats.reset();
  }
}
