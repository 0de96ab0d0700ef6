import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, chownSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';

/** True when something accepts TCP connections at host:port within the timeout. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(host, port, 500)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

const NATS_BIN = '/usr/sbin/nats-server';

export function natsHint(port: number): string {
  return `start NATS with JetStream: start-stop-daemon --start --oknodo --background --exec ${NATS_BIN} -- -a 127.0.0.1 -p ${port} -js -sd /var/lib/nats-server   (or: apt-get install nats-server)`;
}

export function postgresHint(): string {
  return 'start PostgreSQL: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   (or: apt-get install postgresql)';
}

/** Starts a project-local nats-server under .data/nats when the binary is installed. */
export function startLocalNats(dataDir: string, port: number): boolean {
  if (!existsSync(NATS_BIN)) return false;
  const storeDir = join(dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const child = spawn(
    NATS_BIN,
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, '-l', join(dataDir, 'nats.log')],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  return true;
}

function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort();
  const latest = versions[versions.length - 1];
  return latest ? join(root, latest, 'bin') : null;
}

/**
 * Starts a project-local PostgreSQL cluster under .data/pg (trust auth on 127.0.0.1) when the server
 * binaries are installed. PostgreSQL refuses to run as root, so as root the cluster belongs to the
 * `postgres` system user.
 */
export function startLocalPostgres(dataDir: string, port: number): boolean {
  const bin = postgresBinDir();
  if (!bin || !existsSync(join(bin, 'initdb'))) return false;
  const pgData = join(dataDir, 'pg');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const full = join(bin, cmd);
    if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', full, ...args], { stdio: 'ignore' });
    else execFileSync(full, args, { stdio: 'ignore' });
  };
  mkdirSync(pgData, { recursive: true });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dataDir, uid, gid);
    chownSync(pgData, uid, gid);
  }
  if (!existsSync(join(pgData, 'PG_VERSION'))) {
    run('initdb', ['-D', pgData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  }
  run('pg_ctl', [
    '-D',
    pgData,
    '-l',
    join(pgData, 'server.log'),
    '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${pgData}`,
    'start',
  ]);
  return true;
}
