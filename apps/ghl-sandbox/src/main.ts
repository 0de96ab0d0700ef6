import { loadSandboxConfigFromEnv, SandboxConfigError } from './config/sandbox-config.schema';
import { startGhlSandbox } from './ghl-sandbox';

/** `node dist/apps/ghl-sandbox/src/main.js`: the GHL sandbox as a process (demo, e2e tests). */
async function main(): Promise<void> {
  const config = loadSandboxConfigFromEnv();
  const sandbox = await startGhlSandbox(config);
  const stop = (signal: NodeJS.Signals): void => {
    sandbox.context.logger.info({ signal }, 'stopping');
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so write the reason plainly.
  process.stderr.write(
    `${err instanceof SandboxConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
