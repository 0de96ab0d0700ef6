import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import { builtPaths, repoRoot } from './repo-paths';
import { WaSandboxAdminClient } from './wa-sandbox-admin.client';

export interface SandboxProcessOptions {
  /** Extra environment (WA_SANDBOX_QR_REFS, LOG_LEVEL, ...); ports default to 0 (free ports). */
  env?: NodeJS.ProcessEnv;
  repoRoot?: string;
  /** Called for every output line (pino JSON). */
  onOutput?: (line: string) => void;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}

interface ListeningLine {
  event?: string;
  wsUrl?: string;
  adminUrl?: string;
  rootPublicKey?: string;
}

const OUTPUT_TAIL = 300;

/** Runs the built sandbox (`dist/apps/wa-sandbox/src/main.js`) as a process on free ports, for tests and tools. */
export class SandboxProcess {
  readonly admin: WaSandboxAdminClient;
  private readonly tail: string[] = [];

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly wsUrl: string,
    readonly adminUrl: string,
    readonly rootPublicKey: string,
    readonly token: string,
    tail: string[],
    lines: Interface[],
  ) {
    this.admin = new WaSandboxAdminClient({ baseUrl: adminUrl, token });
    this.tail.push(...tail);
    const keep = (line: string) => {
      this.tail.push(line);
      if (this.tail.length > OUTPUT_TAIL) this.tail.shift();
    };
    for (const l of lines) l.on('line', keep);
    // Never leave an orphaned sandbox behind a crashed test run or tool.
    const killChild = () => child.kill('SIGKILL');
    process.once('exit', killChild);
    child.once('exit', () => process.off('exit', killChild));
  }

  static start(options: SandboxProcessOptions = {}): Promise<SandboxProcess> {
    const root = options.repoRoot ?? repoRoot();
    const token = options.env?.WA_SANDBOX_ADMIN_TOKEN ?? randomBytes(16).toString('hex');
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), builtPaths.sandboxMain(root)], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        WA_SANDBOX_WS_PORT: '0',
        WA_SANDBOX_ADMIN_PORT: '0',
        ...options.env,
        WA_SANDBOX_ADMIN_TOKEN: token,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const early: string[] = [];
    return new Promise((resolve, reject) => {
      const fail = (reason: string) =>
        reject(new Error(`wa-sandbox did not start: ${reason}\n${early.join('\n')}`));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail('no listening line within 30 s');
      }, 30_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(`exited with code ${code}`);
      });
      const onLine = (line: string) => {
        early.push(line);
        options.onOutput?.(line);
        let parsed: ListeningLine;
        try {
          parsed = JSON.parse(line) as ListeningLine;
        } catch {
          return;
        }
        if (parsed.event !== 'listening' || !parsed.wsUrl || !parsed.adminUrl || !parsed.rootPublicKey)
          return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        stdout.off('line', onLine);
        stderr.off('line', onLine);
        resolve(
          new SandboxProcess(child, parsed.wsUrl, parsed.adminUrl, parsed.rootPublicKey, token, early, [
            stdout,
            stderr,
          ]),
        );
      };
      const stdout = createInterface({ input: child.stdout }).on('line', onLine);
      const stderr = createInterface({ input: child.stderr }).on('line', onLine);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the sandbox printed. */
  output(): string {
    return this.tail.join('\n');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
