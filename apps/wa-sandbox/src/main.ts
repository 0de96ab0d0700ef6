import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { muteLibsignalConsole } from './common/mute-libsignal';
import { AdminServer } from './admin/admin-server';
import { adminRoutes } from './admin/admin-routes';
import { createLogger } from './common/logger';
import { loadConfig } from './config';
import { parseSnapshot } from './snapshot/snapshot';
import { WaSandbox } from './wa-sandbox';

async function main(): Promise<void> {
  muteLibsignalConsole();
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const sandbox = new WaSandbox({
    logger,
    settings: {
      qrRefs: config.qrRefs,
      autoDeliveryReceipts: config.autoDeliveryReceipts,
      historySync: config.historySync,
      clientIdleTimeoutMs: config.clientIdleTimeoutMs,
    },
  });
  if (config.stateFile && existsSync(config.stateFile)) {
    sandbox.restore(parseSnapshot(JSON.parse(readFileSync(config.stateFile, 'utf8'))));
  }
  const wsPort = await sandbox.listen(config.host, config.wsPort);
  const admin = new AdminServer(adminRoutes(sandbox), config.adminToken, logger);
  const adminPort = await admin.listen(config.host, config.adminPort);
  // Harnesses wait for this line (event: 'listening') to learn the ports and the root key; it is printed
  // whatever LOG_LEVEL says.
  const listening = {
    event: 'listening',
    wsUrl: `ws://${config.host}:${wsPort}/ws/chat`,
    adminUrl: `http://${config.host}:${adminPort}`,
    rootPublicKey: sandbox.rootPublicKey,
    msg: 'wa-sandbox listening',
  };
  process.stdout.write(`${JSON.stringify(listening)}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'wa-sandbox stopping');
    if (config.stateFile) writeFileSync(config.stateFile, JSON.stringify(sandbox.snapshot()));
    await Promise.all([admin.close(), sandbox.close()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
