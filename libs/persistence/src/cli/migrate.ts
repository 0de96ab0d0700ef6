import { loadConfig, sharedEnvShape } from '@app/config';
import { z } from 'zod';
import { explainConnectionError } from '../connection-error';
import {
  generateMigration,
  revertMigration,
  runMigrations,
  showMigrations,
  waitForMigrations,
  type Print,
} from './migration-commands';

const USAGE = 'usage: migrate <run | revert | show | wait | generate <Name>>   (reads DATABASE_URL)';

const print: Print = (line) => process.stdout.write(`${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  const [command, name, ...extra] = argv;
  // Only DATABASE_URL: migrating must not require the apps' secrets.
  const { DATABASE_URL: url } = loadConfig(z.object({ DATABASE_URL: sharedEnvShape.DATABASE_URL }));
  try {
    switch (command) {
      case 'run':
        await runMigrations(url, print);
        return 0;
      case 'revert':
        await revertMigration(url, print);
        return 0;
      case 'show':
        await showMigrations(url, print);
        return 0;
      case 'wait':
        await waitForMigrations(url, print);
        return 0;
      case 'generate':
        if (!name || extra.length > 0) break;
        await generateMigration(url, name, print);
        return 0;
      default:
        break;
    }
    process.stderr.write(`${USAGE}\n`);
    return 2;
  } catch (error) {
    const explained = explainConnectionError(error, url);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`migrate ${command}: ${explained ?? message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `migrate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
