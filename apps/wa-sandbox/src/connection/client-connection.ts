import { decodeBinaryNode, encodeBinaryNode, type BinaryNode, type proto } from '@whiskeysockets/baileys';
import WebSocket, { type RawData } from 'ws';
import type { Logger } from '../common/logger';
import type { Account } from '../directory/account';
import type { LinkedDevice } from '../directory/linked-device';
import { encodeFrame, IncomingFrameDecoder } from '../protocol/frame-codec';
import {
  NoiseServerHandshake,
  type NoiseServerIdentity,
  type NoiseTransport,
} from '../protocol/noise-server';

/** What the sandbox does with a connection's life events; the connection itself only speaks the wire. */
export interface ConnectionHandler {
  authenticated(connection: ClientConnection, payload: proto.ClientPayload): Promise<void>;
  stanza(connection: ClientConnection, stanza: BinaryNode): Promise<void>;
  handshakeFailed(connection: ClientConnection, error: unknown): void;
  closed(connection: ClientConnection): void;
}

export type ConnectionStage = 'handshake' | 'registration' | 'logged-in' | 'closing' | 'closed';

/** Queries the sandbox sends (pair-device, pair-success) get this long for their reply. */
const DEFAULT_QUERY_TIMEOUT_MS = 20_000;
/** After a stream error or failure the client closes the socket itself; this is the fallback. */
const CLOSE_GRACE_MS = 2_000;

let connectionSequence = 0;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

interface PendingQuery {
  resolve(node: BinaryNode): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One WebSocket from a companion: framing, the Noise handshake, the encrypted transport, iq queries
 * the server sends, and the ways a server ends a stream. Frames are handled one at a time, in order.
 */
export class ClientConnection {
  readonly id = ++connectionSequence;
  stage: ConnectionStage = 'handshake';
  /** The companion's Noise static key, known after the handshake. */
  clientStaticKey?: Buffer;
  /** Registration data of a companion that is not logged in yet (QR or pairing code flow). */
  registration?: proto.ClientPayload.IDevicePairingRegistrationData;
  qrRefs: string[] = [];
  account?: Account;
  device?: LinkedDevice;
  /** Messages pushed to this companion and not acknowledged yet (by a receipt or an ack), oldest first. */
  private readonly unacked = new Map<string, BinaryNode>();

  private readonly decoder = new IncomingFrameDecoder();
  private handshake?: NoiseServerHandshake;
  private transport?: NoiseTransport;
  private queue: Promise<void> = Promise.resolve();
  private readonly pending = new Map<string, PendingQuery>();
  private querySequence = 0;
  private muted = false;
  private closeTimer?: NodeJS.Timeout;
  /** When the client last sent anything; a paused or vanished client stops moving it. */
  lastFrameAt = Date.now();

  constructor(
    private readonly socket: WebSocket,
    private readonly identity: NoiseServerIdentity,
    private readonly handler: ConnectionHandler,
    private readonly logger: Logger,
  ) {
    socket.on('message', (data: RawData) => this.onData(toBuffer(data)));
    socket.on('close', () => this.onClose());
    socket.on('error', (error) => this.logger.debug({ conn: this.id, err: error.message }, 'socket error'));
  }

  /** Open and not being ended by the server. */
  get isLive(): boolean {
    return (
      this.socket.readyState === WebSocket.OPEN &&
      (this.stage === 'registration' || this.stage === 'logged-in')
    );
  }

  get isMuted(): boolean {
    return this.muted;
  }

  send(stanza: BinaryNode): void {
    if (this.muted || !this.transport || this.socket.readyState !== WebSocket.OPEN) return;
    if (this.logger.isLevelEnabled('trace')) this.logger.trace({ conn: this.id, out: stanza }, 'stanza out');
    this.socket.send(encodeFrame(this.transport.encrypt(encodeBinaryNode(stanza))));
  }

  /**
   * Pushes a message and keeps it until the companion acknowledges it, as WhatsApp's server does: what a
   * connection never acknowledged is delivered again (see `takeUnacked`), so a client that dies or
   * closes with messages in flight does not lose them.
   */
  deliver(stanza: BinaryNode): void {
    const id = stanza.attrs.id;
    if (id) this.unacked.set(id, stanza);
    this.send(stanza);
  }

  /** The companion sent a receipt or an ack for these message ids. */
  acknowledged(ids: Iterable<string>): void {
    for (const id of ids) this.unacked.delete(id);
  }

  /** Messages this connection never acknowledged, oldest first; it forgets them. */
  takeUnacked(): BinaryNode[] {
    const stanzas = [...this.unacked.values()];
    this.unacked.clear();
    return stanzas;
  }

  /** Sends an iq and resolves with the client's `result` (or rejects on `error`, timeout or close). */
  query(iq: BinaryNode, timeoutMs = DEFAULT_QUERY_TIMEOUT_MS): Promise<BinaryNode> {
    const id = iq.attrs.id ?? `sbx-${this.id}-${++this.querySequence}`;
    const stanza: BinaryNode = { ...iq, attrs: { ...iq.attrs, id } };
    return new Promise<BinaryNode>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to iq ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.send(stanza);
    });
  }

  /** Sends a last stanza (stream error, failure) and lets the client close; closes anyway after a grace. */
  end(lastStanza: BinaryNode): void {
    if (this.stage === 'closing' || this.stage === 'closed') return;
    this.send(lastStanza);
    this.stage = 'closing';
    this.closeTimer = setTimeout(() => this.socket.close(), CLOSE_GRACE_MS);
  }

  /** Cuts the TCP connection without a word: Baileys reports 428 `Connection Terminated`. */
  terminate(): void {
    this.stage = this.stage === 'closed' ? 'closed' : 'closing';
    this.socket.terminate();
  }

  /** Stops answering anything, pings included: Baileys gives up with 408 after its keep-alive window. */
  mute(): void {
    this.muted = true;
  }

  private onData(chunk: Buffer): void {
    this.lastFrameAt = Date.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.handler.handshakeFailed(this, error);
      this.terminate();
      return;
    }
    for (const frame of frames) {
      this.queue = this.queue.then(() => this.onFrame(frame));
    }
  }

  private async onFrame(frame: Buffer): Promise<void> {
    if (this.stage === 'closed') return;
    if (!this.handshake || !this.transport) {
      let payload: proto.ClientPayload | undefined;
      try {
        payload = this.advanceHandshake(frame);
      } catch (error) {
        this.handler.handshakeFailed(this, error);
        this.terminate();
        return;
      }
      if (payload) await this.safely(() => this.handler.authenticated(this, payload));
      return;
    }
    let stanza: BinaryNode;
    try {
      // Decrypt even when muted: the counters must stay in step with the client.
      const plaintext = this.transport.decrypt(frame);
      if (this.muted) return;
      stanza = await decodeBinaryNode(plaintext);
    } catch (error) {
      this.logger.warn({ conn: this.id, err: (error as Error).message }, 'undecodable frame; closing');
      this.terminate();
      return;
    }
    if (this.logger.isLevelEnabled('trace')) this.logger.trace({ conn: this.id, in: stanza }, 'stanza in');
    if (stanza.tag === 'iq' && (stanza.attrs.type === 'result' || stanza.attrs.type === 'error')) {
      const waiting = this.pending.get(stanza.attrs.id ?? '');
      if (waiting) {
        this.pending.delete(stanza.attrs.id ?? '');
        clearTimeout(waiting.timer);
        if (stanza.attrs.type === 'result') waiting.resolve(stanza);
        else waiting.reject(new Error(`client answered iq ${stanza.attrs.id} with an error`));
        return;
      }
    }
    if (this.stage === 'closing') return;
    await this.safely(() => this.handler.stanza(this, stanza));
  }

  /** Handles handshake message 1 or 3; returns the client's payload once the handshake is complete. */
  private advanceHandshake(frame: Buffer): proto.ClientPayload | undefined {
    if (!this.handshake) {
      const intro = this.decoder.introHeader;
      if (!intro) throw new Error('frame before the intro header');
      this.handshake = new NoiseServerHandshake(this.identity);
      const serverHello = this.handshake.respondToHello(intro, frame);
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(encodeFrame(serverHello));
      return undefined;
    }
    const result = this.handshake.finish(frame);
    this.clientStaticKey = result.clientStaticKey;
    this.transport = result.transport;
    return result.clientPayload;
  }

  private async safely(task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (error) {
      this.logger.warn({ conn: this.id, err: (error as Error).stack }, 'stanza handler failed');
    }
  }

  private onClose(): void {
    if (this.stage === 'closed') return;
    this.stage = 'closed';
    clearTimeout(this.closeTimer);
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`connection closed before the reply to iq ${id}`));
    }
    this.pending.clear();
    this.handler.closed(this);
  }
}
