import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export interface NatsServerOptions {
  /** Enable JetStream with a private store directory. Default true. */
  jetstream?: boolean;
  /** Fixed port; by default a free one is picked (and re-picked if another process wins the race). */
  port?: number;
  /** Binary to run; defaults to $NATS_SERVER_BIN or the Debian path. */
  binary?: string;
  /** Bound on how long a start may take before it is reported as failed. */
  startTimeoutMs?: number;
  /** Extra command-line arguments. */
  args?: string[];
}

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string | null;
  /** The server's process id while it runs (e.g. to sample its memory). */
  readonly pid: number | undefined;
  /** Stops the server for good and deletes its store directory. Idempotent. */
  stop(): Promise<void>;
  /** Stops the process but keeps the port and store, so `up()` brings the same data back. */
  down(): Promise<void>;
  /** Starts the server again on the same port and store directory after `down()`. */
  up(): Promise<void>;
  /** `down()` then `up()`: JetStream streams, consumers and messages survive. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): sockets stay open but nothing answers, like a hung server. */
  pause(): void;
  resume(): void;
  isRunning(): boolean;
  /** The last lines the server printed, for failure messages. */
  logs(): string;
}

const DEFAULT_BINARY = '/usr/sbin/nats-server';
const LOG_LINES_KEPT = 200;
// A few attempts cover the small window in which another process can take a port we just probed.
const PORT_ATTEMPTS = 5;

const liveProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that crashes must not leave servers holding ports on a shared machine.
  process.once('exit', () => {
    for (const child of liveProcesses) child.kill('SIGKILL');
  });
}

/** Spawns a private nats-server on a free loopback port and waits until it accepts clients. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  installExitHook();
  const jetstream = options.jetstream ?? true;
  const storeDir = jetstream ? await mkdtemp(join(tmpdir(), 'nats-test-')) : null;
  const server = new LocalNatsServer(
    options.binary ?? process.env.NATS_SERVER_BIN ?? DEFAULT_BINARY,
    storeDir,
    options.args ?? [],
    options.startTimeoutMs ?? 15_000,
  );
  try {
    if (options.port !== undefined) {
      server.port = options.port;
      await server.up();
    } else {
      await server.startOnFreePort();
    }
  } catch (err) {
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
    throw err;
  }
  return server;
}

class LocalNatsServer implements NatsServerHandle {
  port = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly lines: string[] = [];
  private stopped = false;

  constructor(
    private readonly binary: string,
    readonly storeDir: string | null,
    private readonly extraArgs: string[],
    private readonly startTimeoutMs: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async startOnFreePort(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      this.port = await freePort();
      try {
        await this.up();
        return;
      } catch (err) {
        lastError = err;
        if (!/address already in use/i.test(this.logs())) throw err;
      }
    }
    throw lastError;
  }

  async up(): Promise<void> {
    if (this.stopped) throw new Error('nats-server handle was stopped; start a new one');
    if (this.child) throw new Error('nats-server is already running');
    const args = ['-a', '127.0.0.1', '-p', String(this.port), ...this.extraArgs];
    if (this.storeDir) args.push('-js', '-sd', this.storeDir);
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    liveProcesses.add(child);

    let ready = false;
    const readyOrExit = new Promise<void>((resolve, reject) => {
      const onLine = (line: string) => {
        this.remember(line);
        if (!ready && line.includes('Server is ready')) {
          ready = true;
          resolve();
        }
      };
      splitLines(child.stdout, onLine);
      splitLines(child.stderr, onLine);
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (!ready)
          reject(new Error(`nats-server exited before it was ready (code ${code}, signal ${signal})`));
      });
    });
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        liveProcesses.delete(child);
        if (this.child === child) this.child = null;
        resolve();
      });
    });

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, this.startTimeoutMs);
    try {
      await readyOrExit;
      await waitForTcp(this.port, this.startTimeoutMs);
    } catch (err) {
      child.kill('SIGKILL');
      await this.exited;
      const why = timedOut
        ? `nats-server was not ready within ${this.startTimeoutMs} ms`
        : (err as Error).message;
      throw new Error(`${why}\n--- nats-server output ---\n${this.logs()}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async down(): Promise<void> {
    const child = this.child;
    if (!child) return;
    // A paused process ignores SIGTERM until it is continued.
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(killer);
  }

  async restart(): Promise<void> {
    await this.down();
    await this.up();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.down();
    if (this.storeDir) await rm(this.storeDir, { recursive: true, force: true });
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  isRunning(): boolean {
    return this.child !== null;
  }

  logs(): string {
    return this.lines.join('\n');
  }

  private remember(line: string): void {
    this.lines.push(line);
    if (this.lines.length > LOG_LINES_KEPT) this.lines.shift();
  }
}

function splitLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
}

async function waitForTcp(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
