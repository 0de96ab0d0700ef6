import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';
import { createTestDatabase, type TestDatabase } from './postgres';

const run = promisify(execFile);

export interface PrivatePostgresOptions {
  /** Folder with `initdb` and `pg_ctl`; defaults to $PG_BIN_DIR or the newest /usr/lib/postgresql/<v>/bin. */
  binDir?: string;
  /** Fixed port; by default a free one. */
  port?: number;
  /** Extra server settings (`-c name=value`). */
  settings?: Record<string, string>;
}

/** How the server goes down: `fast` (clean shutdown) or `immediate` (like a crash: recovery at start). */
export type PostgresStopMode = 'fast' | 'immediate';

function defaultBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const newest = versions.at(-1);
  if (!newest) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (set PG_BIN_DIR)');
  return join(root, newest, 'bin');
}

const live = new Set<PrivatePostgres>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // pg_ctl detaches the server: a crashed test run must not leave it holding a port and a folder.
  process.once('exit', () => {
    for (const pg of live) pg.killNow();
  });
}

/**
 * A PostgreSQL cluster of its own (initdb into a temporary folder, a free port, trust auth), for tests
 * that restart or crash the database. The machine's shared server is never touched. As root, the
 * cluster belongs to the `postgres` user (the server refuses to run as root).
 */
export class PrivatePostgres {
  private running = false;
  private stopped = false;

  private constructor(
    private readonly binDir: string,
    readonly dir: string,
    readonly port: number,
    private readonly settings: Record<string, string>,
    private readonly asUser: string | null,
  ) {}

  static async start(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
    installExitHook();
    const binDir = options.binDir ?? defaultBinDir();
    const asUser = process.getuid?.() === 0 ? 'postgres' : null;
    const dir = mkdtempSync(join(tmpdir(), 'pg-test-'));
    if (asUser) {
      const uid = Number(execFileSync('id', ['-u', asUser], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', asUser], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    const settings = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      max_connections: '300',
      // Durability against a machine crash is not what these tests exercise: a server crash (immediate
      // stop) still recovers every committed transaction from the OS cache.
      fsync: 'off',
      ...options.settings,
    };
    const pg = new PrivatePostgres(binDir, dir, options.port ?? (await freePort()), settings, asUser);
    live.add(pg);
    try {
      await pg.exec('initdb', ['-D', pg.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '-N']);
      await pg.up();
    } catch (error) {
      await pg.stop();
      throw error;
    }
    return pg;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** A superuser URL to the `postgres` database, e.g. for `createTestDatabase`. */
  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  isRunning(): boolean {
    return this.running;
  }

  /** A fresh database on this cluster (name prefix must contain `test`). */
  createDatabase(prefix: string): Promise<TestDatabase> {
    return createTestDatabase(prefix, this.adminUrl);
  }

  async up(): Promise<void> {
    if (this.stopped) throw new Error('this private Postgres was stopped; start a new one');
    const opts = Object.entries(this.settings)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    await this.exec('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      this.logFile,
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.port} ${opts}`,
      'start',
    ]);
    this.running = true;
  }

  async down(mode: PostgresStopMode = 'fast'): Promise<void> {
    if (!this.running) return;
    await this.exec('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  /** Down then up on the same port and data; every client connection is cut. */
  async restart(mode: PostgresStopMode = 'fast'): Promise<void> {
    await this.down(mode);
    await this.up();
  }

  /** Stops the server for good and deletes its folder. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    try {
      if (existsSync(join(this.dataDir, 'postmaster.pid'))) await this.down('immediate');
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** The server's log, for failure messages. */
  logs(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** @internal Synchronous stop for the process exit hook. */
  killNow(): void {
    try {
      if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
        execFileSync(...this.command('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']), {
          stdio: 'ignore',
        });
      }
    } catch {
      // best effort on the way out
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get logFile(): string {
    return join(this.dir, 'server.log');
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const binary = join(this.binDir, tool);
    return this.asUser ? ['runuser', ['-u', this.asUser, '--', binary, ...args]] : [binary, args];
  }

  private async exec(tool: string, args: string[]): Promise<void> {
    const [file, argv] = this.command(tool, args);
    try {
      await run(file, argv, { timeout: 90_000 });
    } catch (error) {
      const output = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(
        `${tool} failed: ${output.message}\n${output.stderr ?? ''}${output.stdout ?? ''}\n--- server log ---\n${this.logs().slice(-2_000)}`,
      );
    }
  }
}
