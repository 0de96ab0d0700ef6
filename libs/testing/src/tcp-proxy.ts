import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  /** Where connections are forwarded. */
  target: { host: string; port: number };
  /** Shown in errors and reports, e.g. `nats`. */
  name: string;
  /** Listening port; 0 (default) picks a free one. */
  port?: number;
}

export interface TcpProxyStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections this proxy reset (fault, refusal, or the upstream failing). */
  resets: number;
  /** Bytes forwarded, both ways. */
  bytes: number;
}

/** One direction of one connection: chunks leave in order, each no earlier than its due time. */
class Pipe {
  private held: Buffer[] = [];
  private lastDueAt = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** The sender finished (FIN); the other side is ended once everything before it went out. */
  private ended = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly proxy: TcpProxy,
  ) {
    from.on('data', (chunk: Buffer) => this.take(chunk));
    from.on('end', () => {
      this.ended = true;
      this.endWhenDrained();
    });
  }

  private take(chunk: Buffer): void {
    if (this.proxy.isPartitioned) {
      this.held.push(chunk);
      return;
    }
    this.forward(chunk);
  }

  /** After a partition heals, what was held goes out first, in order. */
  flush(): void {
    const held = this.held;
    this.held = [];
    for (const chunk of held) this.forward(chunk);
    this.endWhenDrained();
  }

  private endWhenDrained(): void {
    if (this.ended && this.held.length === 0 && this.timers.size === 0 && !this.to.destroyed) this.to.end();
  }

  private forward(chunk: Buffer): void {
    const delay = this.proxy.nextDelayMs();
    if (delay <= 0 && this.timers.size === 0) {
      this.write(chunk);
      return;
    }
    // Never overtake an earlier chunk: TCP delivers in order, however the delay varies.
    const dueAt = Math.max(Date.now() + delay, this.lastDueAt);
    this.lastDueAt = dueAt;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.write(chunk);
      this.endWhenDrained();
    }, dueAt - Date.now());
    this.timers.add(timer);
  }

  private write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    this.proxy.countBytes(chunk.length);
    if (!this.to.write(chunk)) {
      this.from.pause();
      this.to.once('drain', () => this.from.resume());
    }
  }

  cancel(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.held = [];
  }
}

interface Link {
  client: Socket;
  upstream: Socket;
  pipes: Pipe[];
}

/**
 * A TCP proxy for fault tests, in front of NATS, Postgres or an HTTP service. Controlled at run time:
 * latency (with jitter) on every chunk both ways, a partition (bytes are held, connections stay open,
 * as when packets are dropped and TCP keeps retransmitting; they arrive once healed), resets of every
 * open connection, and refusing new connections.
 */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private latencyMs = 0;
  private jitterMs = 0;
  private partitioned = false;
  private refusing = false;
  private readonly counters = { accepted: 0, resets: 0, bytes: 0 };

  private constructor(
    private readonly server: Server,
    readonly options: TcpProxyOptions,
    readonly port: number,
  ) {}

  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    // Half-open kept: each pipe passes a FIN on once the bytes before it have gone out.
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port ?? 0, host: '127.0.0.1' }, () => {
        const address = server.address();
        if (address === null || typeof address === 'string') reject(new Error('proxy has no port'));
        else resolve(address.port);
      });
    });
    const proxy = new TcpProxy(server, options, port);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  get name(): string {
    return this.options.name;
  }

  get isPartitioned(): boolean {
    return this.partitioned;
  }

  /** Adds `ms` (± up to `jitterMs`) to every chunk in both directions. 0 removes it. */
  setLatency(ms: number, jitterMs = 0): void {
    this.latencyMs = Math.max(0, ms);
    this.jitterMs = Math.max(0, jitterMs);
  }

  /** Holds every byte both ways until `heal()`; connections stay open. */
  partition(): void {
    this.partitioned = true;
  }

  heal(): void {
    this.partitioned = false;
    for (const link of this.links) for (const pipe of link.pipes) pipe.flush();
  }

  /** Resets (RST) every open connection, both sides; returns how many. */
  resetAll(): number {
    const n = this.links.size;
    for (const link of [...this.links]) this.reset(link);
    return n;
  }

  /** While on, every new connection is reset as soon as it is accepted. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Back to a transparent proxy: no latency, no partition (held bytes delivered), accepting. */
  clearFaults(): void {
    this.setLatency(0);
    this.refusing = false;
    this.heal();
  }

  stats(): TcpProxyStats {
    return { ...this.counters, open: this.links.size };
  }

  async close(): Promise<void> {
    for (const link of [...this.links]) this.reset(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** @internal */
  nextDelayMs(): number {
    if (this.latencyMs === 0 && this.jitterMs === 0) return 0;
    return Math.max(0, this.latencyMs + (Math.random() * 2 - 1) * this.jitterMs);
  }

  /** @internal */
  countBytes(n: number): void {
    this.counters.bytes += n;
  }

  private accept(client: Socket): void {
    this.counters.accepted += 1;
    if (this.refusing) {
      this.counters.resets += 1;
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    client.pause();
    const upstream = tcpConnect({
      host: this.options.target.host,
      port: this.options.target.port,
      allowHalfOpen: true,
    });
    upstream.setNoDelay(true);
    const link: Link = { client, upstream, pipes: [] };
    this.links.add(link);
    upstream.once('connect', () => {
      link.pipes.push(new Pipe(client, upstream, this), new Pipe(upstream, client, this));
      client.resume();
    });
    // A finished side (FIN) is passed on by its pipe; an error or a close tears both sides down.
    // The upstream refusing (e.g. the server is down) looks to the client like a reset connection.
    upstream.on('error', () => this.reset(link));
    const close = () => {
      if (!this.links.delete(link)) return;
      for (const pipe of link.pipes) pipe.cancel();
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  }

  private reset(link: Link): void {
    if (!this.links.delete(link)) return;
    for (const pipe of link.pipes) pipe.cancel();
    this.counters.resets += 1;
    if (!link.client.destroyed) link.client.resetAndDestroy();
    if (!link.upstream.destroyed) link.upstream.resetAndDestroy();
  }
}
