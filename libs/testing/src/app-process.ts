import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '@app/wa-sandbox-client/repo-paths';
import { eventually } from './eventually';

// The nearest package.json, not a fixed `../../..`: this file also runs from dist/ (the benchmarks).
const REPO_ROOT = repoRoot(__dirname);
const LINES_KEPT = 2_000;

export interface AppProcessOptions {
  /** Folder under apps/, e.g. `sync`. The app must be built (`npm test` builds before Jest). */
  app: string;
  env: Record<string, string>;
  /** Extra node flags, e.g. `['-r', preload]`. */
  nodeArgs?: string[];
  /** Every output line is also appended to this file (long runs keep only the last lines in memory). */
  logFile?: string;
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/**
 * One built app running as a real process, the way production runs it. Its JSON log lines are kept
 * so tests can wait for, and assert on, what the app said.
 */
export class AppProcess {
  readonly lines: LogLine[] = [];
  readonly rawLines: string[] = [];
  private readonly child: ChildProcess;
  private readonly logStream?: WriteStream;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly options: AppProcessOptions) {
    const entry = resolve(REPO_ROOT, 'dist/apps', options.app, 'src/main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
    // APP_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") reaches every app a bench or test starts.
    const extraArgs = process.env.APP_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    this.child = spawn(process.execPath, [...extraArgs, ...(options.nodeArgs ?? []), entry], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveApps.add(this.child);
    if (options.logFile) this.logStream = createWriteStream(options.logFile, { flags: 'a' });
    this.exited = new Promise((done) =>
      this.child.once('exit', (code, signal) => {
        liveApps.delete(this.child);
        done({ code, signal });
      }),
    );
    // The last lines are flushed once both output streams are read to the end.
    this.child.once('close', () => this.logStream?.end());
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.record(line));
    }
  }

  static start(options: AppProcessOptions): AppProcess {
    installExitHook();
    return new AppProcess(options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private record(line: string): void {
    this.logStream?.write(`${line}\n`);
    this.rawLines.push(line);
    if (this.rawLines.length > LINES_KEPT) this.rawLines.shift();
    try {
      const parsed = JSON.parse(line) as unknown;
      if (typeof parsed === 'object' && parsed !== null) this.lines.push(parsed as LogLine);
    } catch {
      // not a JSON log line (e.g. a config error on stderr); still kept in rawLines
    }
    if (this.lines.length > LINES_KEPT) this.lines.shift();
  }

  /** Waits until a log line matches; fails with the app's last output when it never comes. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    return eventually(
      () => {
        const found = this.lines.find(match);
        if (!found)
          throw new Error(`${this.options.app}: expected log line not seen. Last output:\n${this.tail()}`);
        return found;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  hasLog(match: (line: LogLine) => boolean): boolean {
    return this.lines.some(match);
  }

  tail(n = 30): string {
    return this.rawLines.slice(-n).join('\n');
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Sends the signal and waits for the exit, with a bound; SIGKILLs on timeout. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    // A profiled app writes its profile only on a clean exit: a teardown's SIGKILL becomes a SIGTERM.
    if (signal === 'SIGKILL' && process.env.APP_NODE_ARGS?.includes('-prof')) signal = 'SIGTERM';
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

const liveApps = new Set<ChildProcess>();
let hookInstalled = false;
function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.once('exit', () => {
    for (const child of liveApps) child.kill('SIGKILL');
  });
}

/** Polls an app's HTTP endpoint until it answers with the wanted status. */
export async function waitForHttp(url: string, status = 200, timeoutMs = 20_000): Promise<Response> {
  return eventually(
    async () => {
      const res = await fetch(url);
      if (res.status !== status) throw new Error(`${url} answered ${res.status}, waiting for ${status}`);
      return res;
    },
    { timeoutMs, intervalMs: 100 },
  );
}
