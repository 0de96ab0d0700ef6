import { createEvent, type ReplayOutcome } from '@app/contracts';
import { ReplayRun, type ReplayItem, type ReplayRunDeps } from './replay-run';

function item(n: number): ReplayItem {
  const envelope = createEvent('message.status', 'locA', {
    waMessageId: `W${n}`,
    chatJid: '15550000000@s.whatsapp.net',
    status: 'delivered',
    error: null,
    at: '2026-03-01T00:00:00.000Z',
  });
  return { key: String(n), label: `EVENTS #${n}`, storedAt: new Date(0), envelope };
}

async function* items(list: ReplayItem[]): AsyncGenerator<ReplayItem> {
  for (const i of list) yield i;
}

/** A fake sync: answers each sent item as `answer` says, after the current turn. */
function fakeSync(answer: (item: ReplayItem, runId: string) => Partial<ReplayOutcome>[] | 'silent') {
  let listener: ((o: ReplayOutcome) => void) | undefined;
  const sent: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const deps: ReplayRunDeps = {
    subscribe: (_runId, onOutcome) => {
      listener = onOutcome;
      return { ready: Promise.resolve(), close: () => (listener = undefined) };
    },
    send: async (sentItem, runId) => {
      sent.push(sentItem.key);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const replies = answer(sentItem, runId);
      if (replies === 'silent') return;
      setImmediate(() => {
        for (const reply of replies) {
          if ((reply.outcome ?? 'applied') !== 'retrying') inFlight -= 1;
          listener?.({
            runId,
            key: sentItem.key,
            eventId: sentItem.envelope.id,
            eventType: sentItem.envelope.type,
            locationId: 'locA',
            outcome: 'applied',
            detail: null,
            ghlMessageId: null,
            deliveryCount: 1,
            ...reply,
          });
        }
      });
    },
  };
  return { deps, sent, maxInFlight: () => maxInFlight };
}

describe('ReplayRun', () => {
  it('reports each event once, by its final outcome, and counts them', async () => {
    const sync = fakeSync((i) => {
      switch (i.key) {
        case '1':
          return [{ outcome: 'applied', ghlMessageId: 'g1' }, { outcome: 'skipped' }];
        case '2':
          return [
            { outcome: 'retrying', detail: 'rate limited' },
            { outcome: 'skipped', detail: 'already there' },
          ];
        default:
          return [{ outcome: 'failed', detail: 'GHL refused (400)' }];
      }
    });
    const report = await new ReplayRun(sync.deps, { waitMs: 1_000 }).run(items([item(1), item(2), item(3)]));
    expect(report.results.map((r) => [r.item.key, r.outcome, r.detail ?? r.ghlMessageId])).toEqual([
      ['1', 'applied', 'g1'],
      ['2', 'skipped', 'already there'],
      ['3', 'failed', 'GHL refused (400)'],
    ]);
    expect(report).toMatchObject({ selected: 3, sent: 3, interrupted: false });
    expect(report.counts).toEqual({ applied: 1, skipped: 1, failed: 1, no_outcome: 0, not_sent: 0 });
  });

  it('keeps at most `window` events unanswered', async () => {
    const sync = fakeSync(() => [{ outcome: 'skipped' }]);
    const report = await new ReplayRun(sync.deps, { window: 3 }).run(
      items(Array.from({ length: 20 }, (_, n) => item(n))),
    );
    expect(report.counts.skipped).toBe(20);
    expect(sync.maxInFlight()).toBeLessThanOrEqual(3);
  });

  it('reports events without an outcome after the wait, with the last retry reason, and invalid ones as not sent', async () => {
    const sync = fakeSync((i) => (i.key === '1' ? [{ outcome: 'retrying', detail: 'GHL 503' }] : 'silent'));
    const invalid: ReplayItem = { ...item(3), envelope: null, invalidReason: 'invalid JSON' };
    const report = await new ReplayRun(sync.deps, { waitMs: 50 }).run(items([item(1), item(2), invalid]));
    expect(report.results.map((r) => [r.item.key, r.outcome, r.detail])).toEqual([
      ['3', 'not_sent', 'invalid JSON'],
      ['1', 'no_outcome', 'still retrying: GHL 503'],
      ['2', 'no_outcome', null],
    ]);
    expect(report.sent).toBe(2);
  });

  it('stops sending on stop(), waits the grace for what is out, and says it was interrupted', async () => {
    const stopper: { run?: ReplayRun } = {};
    const sync = fakeSync((i) => {
      if (i.key === '5') stopper.run?.stop();
      return i.key === '5' ? 'silent' : [{ outcome: 'skipped' }];
    });
    const run = (stopper.run = new ReplayRun(sync.deps, { stopGraceMs: 50, waitMs: 60_000 }));
    const report = await run.run(items(Array.from({ length: 100 }, (_, n) => item(n))));
    expect(report.interrupted).toBe(true);
    expect(sync.sent.length).toBeLessThanOrEqual(6);
    expect(report.selected).toBe(sync.sent.length);
    expect(report.results.find((r) => r.item.key === '5')?.outcome).toBe('no_outcome');
  });

  it('reports an event that could not be published as not sent', async () => {
    const deps: ReplayRunDeps = {
      ...fakeSync(() => []).deps,
      send: () => Promise.reject(new Error('no JetStream ack')),
    };
    const report = await new ReplayRun(deps, { waitMs: 50 }).run(items([item(1)]));
    expect(report.results).toEqual([
      expect.objectContaining({ outcome: 'not_sent', detail: 'could not be sent: no JetStream ack' }),
    ]);
    expect(report.sent).toBe(0);
  });
});
