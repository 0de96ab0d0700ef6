import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from '@app/wa-sandbox-client/repo-paths';
import { eventually } from '@app/testing';
import {
  inboundText,
  newPhone,
  startSyncTestKit,
  type SyncTestKit,
} from '../../apps/sync/test/sync-test-kit';

const CLI = resolve(repoRoot(__dirname), 'dist/tools/replay/replay.cli.js');

interface Cli {
  out: string[];
  err: string[];
  exited: Promise<number | null>;
  signal(signal: NodeJS.Signals): void;
}

/**
 * The built replay tool (`npm run build` first) as an operator runs it, against a private NATS with
 * the sync in-process and the GHL sandbox.
 */
describe('replay tool (built CLI)', () => {
  let kit: SyncTestKit;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    kit = await startSyncTestKit({ sandbox: { rateLimit: { max: 5_000, intervalMs: 10_000 } } });
    await kit.startSync({ GHL_RATE_LIMIT_PER_10S: '5000' });
  }, 60_000);

  afterAll(async () => {
    await kit?.close();
  });

  function cli(...args: string[]): Cli {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', NATS_URL: kit.nats.url },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const run: Cli = {
      out: [],
      err: [],
      exited: new Promise((done) => child.once('exit', (code) => done(code))),
      signal: (signal) => child.kill(signal),
    };
    child.stdout.on('data', (chunk: Buffer) => run.out.push(...chunk.toString().split('\n').filter(Boolean)));
    child.stderr.on('data', (chunk: Buffer) => run.err.push(...chunk.toString().split('\n').filter(Boolean)));
    return run;
  }

  async function appliedMessages(locationId: string, count: number) {
    const events = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        kit.publish('message.inbound', locationId, inboundText(newPhone(), `cli ${i}`)),
      ),
    );
    await eventually(
      () =>
        expect(events.filter((e) => kit.results(e.id)[0]?.payload.outcome === 'applied')).toHaveLength(count),
      { timeoutMs: 20_000 },
    );
    return events;
  }

  it('prints what a dry run would replay, then replays it with a line per event and a summary', async () => {
    const { location } = await kit.installedLocation();
    const events = await appliedMessages(location.id, 3);

    const dry = cli('events', '--location', location.id, '--since', '10m', '--dry-run');
    expect(await dry.exited).toBe(0);
    expect(dry.out.filter((l) => l.startsWith('would replay'))).toHaveLength(3);
    expect(dry.out.at(-1)).toMatch(/^dry run: 3 events would be re-fed .*: message.inbound 3$/);

    const real = cli('events', '--location', location.id, '--since', '10m', '--types', 'message.inbound');
    expect(await real.exited).toBe(0);
    for (const event of events) {
      expect(real.out.some((l) => l.includes(event.id) && / skipped: /.test(l))).toBe(true);
    }
    expect(real.out.join('\n')).toMatch(/skipped \(already applied or nothing to write\)\s+3/);
    expect((await kit.admin.counts(location.id)).messages.inbound).toBe(3);
  }, 60_000);

  it('stops on Ctrl-C: sends nothing more, prints what it knows, exits 130', async () => {
    const { location } = await kit.installedLocation();
    await appliedMessages(location.id, 30);

    const run = cli('events', '--location', location.id, '--since', '10m', '--rate', '5');
    await eventually(
      () => expect(run.out.filter((l) => / skipped: /.test(l)).length).toBeGreaterThanOrEqual(2),
      {
        timeoutMs: 15_000,
      },
    );
    run.signal('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.err.join('\n')).toMatch(/stopping: nothing more is sent/);
    const summary = run.out.find((l) => /^run r\w+: \d+ selected/.test(l));
    expect(summary).toMatch(/stopped early by Ctrl-C/);
    const sent = Number(/(\d+) sent/.exec(summary ?? '')?.[1]);
    expect(sent).toBeLessThan(30);
  }, 60_000);

  it('lists dead letters with their reasons, redrives one to GHL, and purges only with a confirmation', async () => {
    const { location } = await kit.installedLocation();
    await kit.admin.addFault({
      match: { operationId: 'add-an-inbound-message', locationId: location.id },
      action: { kind: 'error', status: 400, body: { message: 'refused by the CLI test' } },
    });
    const events = [
      await kit.publish('message.inbound', location.id, inboundText(newPhone(), 'dead 1')),
      await kit.publish('message.inbound', location.id, inboundText(newPhone(), 'dead 2')),
    ];
    await eventually(
      () => expect(events.map((e) => kit.results(e.id)[0]?.payload.outcome)).toEqual(['failed', 'failed']),
      { timeoutMs: 15_000 },
    );
    await kit.admin.clearFaults();

    const list = cli('dead-letters', 'list', '--location', location.id);
    expect(await list.exited).toBe(0);
    expect(list.out.join('\n')).toMatch(/permanent in sync-messages.*refused by the CLI test/);
    expect(list.out.at(-1)).toBe(`2 dead letters of location ${location.id}`);
    const [firstSeq] = list.out.flatMap((l) => /^DLQ #(\d+)/.exec(l)?.[1] ?? []);

    const redrive = cli('dead-letters', 'redrive', firstSeq);
    expect(await redrive.exited).toBe(0);
    expect(
      redrive.out.some((l) => l.startsWith(`DLQ #${firstSeq}`) && / applied: ghl message /.test(l)),
    ).toBe(true);
    expect((await kit.admin.counts(location.id)).messages.inbound).toBe(1);

    const unconfirmed = cli('dead-letters', 'purge', '--location', location.id);
    expect(await unconfirmed.exited).toBe(1);
    expect(unconfirmed.err.join('\n')).toMatch(/pass --yes/);

    const purge = cli('dead-letters', 'purge', '--location', location.id, '--yes');
    expect(await purge.exited).toBe(0);
    expect(purge.out.at(-1)).toBe('purged 1 dead letter');
    const after = cli('dead-letters', 'list', '--location', location.id);
    expect(await after.exited).toBe(0);
    expect(after.out.at(-1)).toBe(`0 dead letters of location ${location.id}`);
  }, 60_000);

  it('answers a bad command line with the reason and the usage, exit 2', async () => {
    const bad = cli('events', '--location', 'x', '--types', 'session.qr');
    expect(await bad.exited).toBe(2);
    expect(bad.err[0]).toMatch(/"session.qr" cannot be replayed/);
    expect(bad.err.join('\n')).toContain('replay events --location <id>');
  });
});
