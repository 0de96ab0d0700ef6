import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BaileysDriver,
  SandboxProcess,
  type DriverConnectOptions,
  type DriverEventOf,
  type PairingResult,
} from '@app/wa-sandbox-client';

/** Test harness: the built sandbox and one Baileys driver process, both real. Baileys-free itself. */
export interface Harness {
  sandbox: SandboxProcess;
  driver: BaileysDriver;
  /** A scratch directory for auth files, removed at the end. */
  dir: string;
  stop(): Promise<void>;
}

export async function startHarness(env: NodeJS.ProcessEnv = {}): Promise<Harness> {
  const sandbox = await SandboxProcess.start({ env: { LOG_LEVEL: 'warn', ...env } });
  let driver: BaileysDriver;
  try {
    driver = await BaileysDriver.start({ rootPublicKey: sandbox.rootPublicKey });
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wa-sandbox-e2e-'));
  return {
    sandbox,
    driver,
    dir,
    async stop() {
      await driver.stop();
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function isOpen(session: string) {
  return (e: DriverEventOf<'connection'>) => e.session === session && e.connection === 'open';
}

export function isClose(session: string) {
  return (e: DriverEventOf<'connection'>) => e.session === session && e.connection === 'close';
}

/** Connects a new session, scans its first QR as `phone`, and waits for `open` after the 515 restart. */
export async function pairSession(
  h: Harness,
  session: string,
  phone: string,
  options: Partial<DriverConnectOptions> & { name?: string } = {},
): Promise<PairingResult> {
  const { name, ...connect } = options;
  const after = h.driver.mark();
  await h.driver.connect(session, { url: h.sandbox.wsUrl, ...connect });
  const { qr } = await h.driver.waitFor('qr', (e) => e.session === session, { after });
  const paired = await h.sandbox.admin.scanQr({ qr, phone, ...(name ? { name } : {}) });
  await h.driver.waitFor('connection', isOpen(session), { after, timeoutMs: 30_000 });
  return paired;
}
