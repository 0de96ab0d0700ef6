import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type {
  DriverCommand,
  DriverConnectOptions,
  DriverEvent,
  DriverEventOf,
  DriverMessageKey,
  DriverSessionInfo,
  DriverStats,
} from './driver-protocol';
import { builtPaths, repoRoot } from './repo-paths';

export interface BaileysDriverOptions {
  /** Hex root key of the sandbox (`GET /trust`), handed to the trust preload. */
  rootPublicKey: string;
  env?: NodeJS.ProcessEnv;
  /** Where `dist/` lives; found from this file by default. */
  repoRoot?: string;
  requestTimeoutMs?: number;
  /** Called for every stderr line of the driver (Baileys' log when WA_DRIVER_BAILEYS_LOG is set). */
  onStderr?: (line: string) => void;
}

interface Waiter {
  check(event: DriverEvent): boolean;
  fail(error: Error): void;
}

const STDERR_TAIL = 200;

/**
 * Spawns and drives the Baileys driver process (real Baileys, unmodified, with the sandbox trust
 * preload) over JSON lines. Baileys-free itself, so Jest tests can use it. Every event is kept in
 * `events`, in arrival order; `waitFor` looks at past and future events.
 */
export class BaileysDriver {
  private readonly log: DriverEvent[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(event: DriverEvent) => void>();
  private readonly stderrTail: string[] = [];
  private requestSequence = 0;
  private exited?: Error;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly requestTimeoutMs: number,
    onStderr?: (line: string) => void,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
      onStderr?.(line);
    });
    child.on('exit', (code, signal) => {
      this.exited = new Error(`driver exited (code ${code}, signal ${signal}); stderr:\n${this.stderr()}`);
      for (const waiter of [...this.waiters]) waiter.fail(this.exited);
    });
  }

  static async start(options: BaileysDriverOptions): Promise<BaileysDriver> {
    const root = options.repoRoot ?? repoRoot();
    const child = spawn(
      process.execPath,
      ['-r', builtPaths.trustPreload(root), builtPaths.baileysDriver(root)],
      {
        cwd: root,
        env: {
          ...process.env,
          NODE_ENV: 'test',
          ...options.env,
          WA_SANDBOX_ROOT_PUBKEY: options.rootPublicKey,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const driver = new BaileysDriver(child, options.requestTimeoutMs ?? 60_000, options.onStderr);
    await driver.waitFor('ready', () => true, { timeoutMs: 30_000 });
    return driver;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Every event so far, oldest first. */
  get events(): readonly DriverEvent[] {
    return this.log;
  }

  /** Position in the event log; pass as `after` to wait only for later events. */
  mark(): number {
    return this.log.length;
  }

  /** Calls `listener` for every future event; returns the unsubscribe function. */
  onEvent(listener: (event: DriverEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stderr(): string {
    return this.stderrTail.join('\n');
  }

  /** Resolves with the first event of `type` (at index ≥ `after`) that `match` accepts. */
  waitFor<K extends DriverEvent['type']>(
    type: K,
    match: (event: DriverEventOf<K>) => boolean,
    { after = 0, timeoutMs = 15_000 }: { after?: number; timeoutMs?: number } = {},
  ): Promise<DriverEventOf<K>> {
    const accepts = (event: DriverEvent): event is DriverEventOf<K> =>
      event.type === type && match(event as DriverEventOf<K>);
    for (let i = after; i < this.log.length; i++) {
      const event = this.log[i];
      if (accepts(event)) return Promise.resolve(event);
    }
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(`no '${type}' event matched within ${timeoutMs} ms; driver stderr:\n${this.stderr()}`),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        check: (event) => {
          if (!accepts(event)) return false;
          clearTimeout(timer);
          resolve(event);
          return true;
        },
        fail: (error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Sends a command and resolves with its result's data (rejects with the driver's error). */
  async request<T = undefined>(command: DriverCommand, timeoutMs = this.requestTimeoutMs): Promise<T> {
    if (this.exited) throw this.exited;
    const reqId = ++this.requestSequence;
    const after = this.log.length;
    const result = this.waitFor('result', (e) => e.reqId === reqId, { after, timeoutMs });
    this.child.stdin.write(`${JSON.stringify({ ...command, reqId })}\n`);
    const event = await result;
    if (!event.ok) throw new Error(`driver ${command.op} failed: ${event.error}`);
    return event.data as T;
  }

  connect(session: string, options: DriverConnectOptions): Promise<undefined> {
    return this.request({ op: 'connect', session, options });
  }

  sendText(session: string, to: string, text: string): Promise<{ id: string }> {
    return this.request({ op: 'sendText', session, to, text });
  }

  read(session: string, keys: DriverMessageKey[]): Promise<undefined> {
    return this.request({ op: 'read', session, keys });
  }

  reconnect(session: string): Promise<undefined> {
    return this.request({ op: 'reconnect', session });
  }

  end(session: string): Promise<undefined> {
    return this.request({ op: 'end', session });
  }

  logout(session: string): Promise<undefined> {
    return this.request({ op: 'logout', session });
  }

  requestPairingCode(session: string, phone: string): Promise<{ code: string }> {
    return this.request({ op: 'requestPairingCode', session, phone });
  }

  saveAuth(session: string): Promise<undefined> {
    return this.request({ op: 'saveAuth', session });
  }

  info(session: string): Promise<DriverSessionInfo> {
    return this.request({ op: 'info', session });
  }

  stats(): Promise<DriverStats> {
    return this.request({ op: 'stats' });
  }

  /** Ends every session (auth files written) and waits for the process to exit. */
  async stop(): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end(`${JSON.stringify({ op: 'shutdown', reqId: 0 })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    let event: DriverEvent;
    try {
      event = JSON.parse(line) as DriverEvent;
    } catch {
      this.stderrTail.push(`(stdout) ${line}`);
      return;
    }
    this.log.push(event);
    for (const listener of this.listeners) listener(event);
    for (const waiter of [...this.waiters]) {
      if (waiter.check(event)) this.waiters.delete(waiter);
    }
  }
}
