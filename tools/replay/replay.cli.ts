/**
 * The replay tool: re-feed stored events to sync, and list, redrive or purge dead letters.
 *
 *   npm run replay -- <command> [options]        (builds first)
 *   node dist/tools/replay/replay.cli.js <command> [options]
 *
 * See USAGE in replay-command.ts, or run it with --help.
 */
import { hostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { loadConfig, replayCliConfigSchema } from '@app/config';
import {
  DeadLetterError,
  DeadLetterStore,
  EventBus,
  MessagingConnection,
  ReplayOutcomeChannel,
  type DeadLetterWithMessage,
} from '@app/messaging';
import { destination, pino, type Logger } from 'pino';
import {
  parseReplayCommand,
  USAGE,
  UsageError,
  type DeadLetterTarget,
  type ReplayCommand,
} from './replay-command';
import {
  deadLetterLine,
  exitCodeOf,
  itemLine,
  progressLine,
  resultLine,
  retryLine,
  summaryLines,
} from './replay-report';
import { ReplayRun, type ReplayItem, type ReplayRunDeps } from './replay-run';
import { deadLetterItem, redrivePublisher, replayPublisher, selectedEvents } from './replay-sources';

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

interface Tools {
  connection: MessagingConnection;
  bus: EventBus;
  store: DeadLetterStore;
  channel: ReplayOutcomeChannel;
}

/** The run in progress, which the first Ctrl-C stops. */
let active: ReplayRun | undefined;

async function main(argv: string[]): Promise<number> {
  let command: ReplayCommand;
  try {
    command = parseReplayCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`replay: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (command.kind === 'help') {
    out(USAGE);
    return 0;
  }
  const config = loadConfig(replayCliConfigSchema);
  const logger: Logger = pino({ level: config.LOG_LEVEL }, destination(2));
  const connection = await MessagingConnection.connect({
    servers: config.NATS_URL,
    name: `replay-cli-${hostname()}-${process.pid}`,
    logger,
  });
  const tools: Tools = {
    connection,
    bus: new EventBus(connection, logger),
    store: new DeadLetterStore(connection),
    channel: new ReplayOutcomeChannel(connection),
  };
  try {
    return await execute(command, tools);
  } catch (error) {
    if (!(error instanceof DeadLetterError)) throw error;
    err(`replay: ${error.message}`);
    return 1;
  } finally {
    await connection.drain(2_000);
  }
}

async function execute(command: Exclude<ReplayCommand, { kind: 'help' }>, tools: Tools): Promise<number> {
  switch (command.kind) {
    case 'events': {
      const { selection } = command;
      const what = `location ${selection.locationId}, ${selection.since.toISOString()} to ${selection.until.toISOString()}, types ${selection.types.join(', ')}`;
      if (command.dryRun) return dryRun(selectedEvents(tools.connection, selection), what);
      out(`replaying ${what}`);
      return replay(tools, selectedEvents(tools.connection, selection), replayPublisher(tools.bus), {
        rate: command.rate,
        waitMs: command.waitMs,
        quiet: command.quiet,
      });
    }
    case 'dead-letter': {
      const letter = await tools.store.get(command.seq);
      if (!letter) throw new DeadLetterError('not_found', `no dead letter with sequence ${command.seq}`);
      out(deadLetterLine(letter.entry));
      const items = single(deadLetterItem(letter));
      if (command.dryRun) return dryRun(items, `dead letter ${command.seq} on the replay subject`);
      return replay(tools, items, replayPublisher(tools.bus), {
        rate: 0,
        waitMs: command.waitMs,
        quiet: false,
      });
    }
    case 'dead-letters-list': {
      let shown = 0;
      for await (const entry of tools.store.list({ locationId: command.locationId })) {
        if (shown === command.limit) {
          out(`… more dead letters; raise --limit to see them`);
          return 0;
        }
        out(deadLetterLine(entry));
        shown += 1;
      }
      out(
        `${shown} dead letter${shown === 1 ? '' : 's'}${command.locationId ? ` of location ${command.locationId}` : ''}`,
      );
      return 0;
    }
    case 'redrive': {
      const items = redriveItems(tools.store, command.target);
      if (command.dryRun) return dryRun(items, `dead letters to redrive (${describeTarget(command.target)})`);
      out(`redriving ${describeTarget(command.target)} to their original subjects`);
      return replay(tools, items, redrivePublisher(tools.store), {
        rate: 0,
        waitMs: command.waitMs,
        quiet: false,
      });
    }
    case 'purge':
      return purge(tools.store, command.target, command.yes);
  }
}

async function replay(
  tools: Tools,
  items: AsyncIterable<ReplayItem>,
  send: ReplayRunDeps['send'],
  options: { rate: number; waitMs: number; quiet: boolean },
): Promise<number> {
  const run = new ReplayRun(
    {
      subscribe: (runId, onOutcome) => tools.channel.subscribe(runId, onOutcome),
      send,
      // --quiet keeps only what needs a look.
      onResult: (result) => {
        if (!options.quiet || (result.outcome !== 'applied' && result.outcome !== 'skipped')) {
          out(resultLine(result));
        }
      },
      onRetrying: (item, detail, deliveryCount) => err(retryLine(item, detail, deliveryCount)),
      onProgress: (progress) => err(progressLine(progress)),
    },
    { rate: options.rate, waitMs: options.waitMs },
  );
  active = run;
  err(`run ${run.runId} (Ctrl-C stops sending and prints what is known)`);
  const report = await run.run(items);
  active = undefined;
  for (const line of summaryLines(report)) out(line);
  return exitCodeOf(report);
}

async function dryRun(items: AsyncIterable<ReplayItem>, what: string): Promise<number> {
  const byType = new Map<string, number>();
  let count = 0;
  for await (const item of items) {
    out(`would replay ${itemLine(item)}${item.invalidReason ? `  (cannot: ${item.invalidReason})` : ''}`);
    const type = item.envelope?.type ?? 'invalid';
    byType.set(type, (byType.get(type) ?? 0) + 1);
    count += 1;
  }
  const types = [...byType].map(([type, n]) => `${type} ${n}`).join(', ');
  out(
    `dry run: ${count} event${count === 1 ? '' : 's'} would be re-fed (${what})${types ? `: ${types}` : ''}`,
  );
  return 0;
}

async function* redriveItems(store: DeadLetterStore, target: DeadLetterTarget): AsyncGenerator<ReplayItem> {
  if (target.kind === 'one') {
    const letter = await store.get(target.seq);
    if (!letter) throw new DeadLetterError('not_found', `no dead letter with sequence ${target.seq}`);
    yield deadLetterItem(letter);
    return;
  }
  // Letters that fail again during this redrive land after this point and are left for a person.
  const last = await store.lastSeq();
  for await (const letter of store.read(
    target.kind === 'location' ? { locationId: target.locationId } : {},
  )) {
    if (letter.entry.seq > last) return;
    yield deadLetterItem(letter);
  }
}

async function purge(store: DeadLetterStore, target: DeadLetterTarget, yes: boolean): Promise<number> {
  const letters: DeadLetterWithMessage[] = [];
  if (target.kind === 'one') {
    const letter = await store.get(target.seq);
    if (letter) letters.push(letter);
  } else {
    for await (const letter of store.read(
      target.kind === 'location' ? { locationId: target.locationId } : {},
    )) {
      letters.push(letter);
    }
  }
  if (letters.length === 0) {
    out(`no dead letters to purge (${describeTarget(target)})`);
    return 0;
  }
  for (const letter of letters.slice(0, 20)) out(deadLetterLine(letter.entry));
  if (letters.length > 20) out(`… and ${letters.length - 20} more`);
  const question = `Delete these ${letters.length} dead letter${letters.length === 1 ? '' : 's'} for good (${describeTarget(target)})? Type "yes": `;
  if (!yes && !(await confirm(question))) {
    out('nothing purged');
    return 1;
  }
  let purged: number;
  if (target.kind === 'one') purged = (await store.delete(target.seq)) ? 1 : 0;
  else purged = await store.purge(target.kind === 'location' ? target.locationId : undefined);
  out(`purged ${purged} dead letter${purged === 1 ? '' : 's'}`);
  return 0;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    err('replay: not asking on a non-interactive input; pass --yes to purge');
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

function describeTarget(target: DeadLetterTarget): string {
  switch (target.kind) {
    case 'one':
      return `DLQ #${target.seq}`;
    case 'location':
      return `every dead letter of location ${target.locationId}`;
    case 'all':
      return 'every dead letter';
  }
}

async function* single(item: ReplayItem): AsyncGenerator<ReplayItem> {
  yield item;
}

let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  if (interrupts === 1 && active) {
    err(
      'stopping: nothing more is sent; waiting up to 5 s for outstanding outcomes (Ctrl-C again to quit now)',
    );
    active.stop();
    return;
  }
  process.exit(130);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    err(`replay: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
