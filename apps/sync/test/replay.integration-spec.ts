import { REPLAYABLE_EVENT_TYPES, type EventEnvelope } from '@app/contracts';
import { DeadLetterStore, ReplayOutcomeChannel } from '@app/messaging';
import { eventually } from '@app/testing';
import { ReplayRun, type ReplayItem, type ReplayReport } from '../../../tools/replay/replay-run';
import {
  deadLetterItem,
  redrivePublisher,
  replayPublisher,
  selectedEvents,
} from '../../../tools/replay/replay-sources';
import { inboundText, newPhone, startSyncTestKit, type SyncTestKit } from './sync-test-kit';

/**
 * Replay and dead-letter redrive with the sync in-process, real NATS and Postgres, the GHL sandbox
 * over HTTP, and the replay tool's own code (tools/replay) driving the runs.
 */
describe('sync: replay and redrive', () => {
  let kit: SyncTestKit;
  let channel: ReplayOutcomeChannel;
  let store: DeadLetterStore;

  beforeAll(async () => {
    kit = await startSyncTestKit({ sandbox: { rateLimit: { max: 5_000, intervalMs: 10_000 } } });
    await kit.startSync({
      GHL_RATE_LIMIT_PER_10S: '5000',
      // Small and equal on purpose: a replay that shared the live consumer would hold every live slot.
      SYNC_CONCURRENCY: '4',
      SYNC_REPLAY_CONCURRENCY: '4',
      // A timed-out GHL call is ambiguous; two deliveries dead-letter it quickly.
      GHL_REQUEST_TIMEOUT: '2s',
      SYNC_MAX_DELIVER: '2',
    });
    channel = new ReplayOutcomeChannel(kit.connection);
    store = new DeadLetterStore(kit.connection);
  }, 60_000);

  afterAll(async () => {
    await kit?.close();
  });

  afterEach(async () => {
    await kit.admin.clearFaults();
    expect(await kit.schemaViolations()).toEqual([]);
  });

  function run(items: AsyncIterable<ReplayItem>, send = replayPublisher(kit.bus)): Promise<ReplayReport> {
    return new ReplayRun(
      { subscribe: (runId, onOutcome) => channel.subscribe(runId, onOutcome), send },
      { waitMs: 30_000 },
    ).run(items);
  }

  function replayWindow(locationId: string, since: Date): Promise<ReplayReport> {
    const selection = { locationId, since, until: new Date(), types: [...REPLAYABLE_EVENT_TYPES] };
    return run(selectedEvents(kit.connection, selection));
  }

  /** Messages GHL refuses (400) while they are published: dead-lettered at once, nothing written. */
  async function refusedMessages(
    locationId: string,
    count: number,
  ): Promise<EventEnvelope<'message.inbound'>[]> {
    const fault = await kit.admin.addFault({
      match: { operationId: 'add-an-inbound-message', locationId },
      action: { kind: 'error', status: 400, body: { message: 'refused for the test' } },
    });
    const events = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        kit.publish('message.inbound', locationId, inboundText(newPhone(), `refused ${i}`)),
      ),
    );
    await eventually(
      () =>
        expect(events.filter((e) => kit.results(e.id)[0]?.payload.outcome === 'failed')).toHaveLength(count),
      { timeoutMs: 15_000 },
    );
    await kit.admin.removeFault(fault.id);
    return events;
  }

  const outcomes = (report: ReplayReport): Record<string, string> =>
    Object.fromEntries(report.results.map((r) => [r.item.envelope?.id ?? r.item.key, r.outcome]));

  it('replaying a window twice writes to GHL the first time only, and reports every event', async () => {
    const { location } = await kit.installedLocation();
    const since = new Date(Date.now() - 1_000);
    const refused = await refusedMessages(location.id, 3);
    const receipt = await kit.publish('message.status', location.id, {
      waMessageId: 'not-from-ghl',
      chatJid: '15550000000@s.whatsapp.net',
      status: 'sent',
      error: null,
      at: new Date().toISOString(),
    });
    // Not replayable (sync does nothing with it): never selected.
    await kit.publish('session.state_changed', location.id, {
      state: 'open',
      previous: 'connecting',
      code: null,
      reason: 'connected',
      workerId: 'w1',
    });
    expect((await kit.admin.counts(location.id)).messages.inbound).toBe(0);

    const first = await replayWindow(location.id, since);
    expect(outcomes(first)).toEqual({
      ...Object.fromEntries(refused.map((e) => [e.id, 'applied'])),
      [receipt.id]: 'skipped',
    });
    expect(first.results.find((r) => r.item.envelope?.id === receipt.id)?.detail).toMatch(/nothing to write/);
    expect(first.results.every((r) => r.outcome !== 'applied' || r.ghlMessageId)).toBe(true);
    const afterFirst = await kit.admin.counts(location.id);
    expect(afterFirst.messages.inbound).toBe(3);

    const second = await replayWindow(location.id, since);
    expect(second.counts).toMatchObject({ applied: 0, skipped: 4, failed: 0, no_outcome: 0, not_sent: 0 });
    const afterSecond = await kit.admin.counts(location.id);
    expect(afterSecond.requestsByOperation['add-an-inbound-message']).toBe(
      afterFirst.requestsByOperation['add-an-inbound-message'],
    );
    expect(afterSecond.messages.inbound).toBe(3);
    expect(afterSecond.duplicateAltIds).toEqual([]);
  }, 60_000);

  it('redrives dead letters after the fault is removed, and each reaches GHL exactly once', async () => {
    // A: GHL answers 500 (it may have written: the intent stays). B: GHL answers after the sync gave up
    // (it did write). Both are dead-lettered after two deliveries.
    const a = await kit.installedLocation();
    const b = await kit.installedLocation();
    await kit.admin.addFault({
      match: { operationId: 'add-an-inbound-message', locationId: a.location.id },
      action: { kind: 'error', status: 500 },
    });
    await kit.admin.addFault({
      match: { operationId: 'add-an-inbound-message', locationId: b.location.id },
      action: { kind: 'delay', ms: 2_500 },
      times: 1,
    });
    const lostA = await kit.publish('message.inbound', a.location.id, inboundText(newPhone(), 'GHL failed'));
    const lostB = await kit.publish(
      'message.inbound',
      b.location.id,
      inboundText(newPhone(), 'GHL was slow'),
    );
    const letters = await eventually(
      async () => {
        const found = [];
        for (const id of [a.location.id, b.location.id]) {
          for await (const letter of store.read({ locationId: id })) found.push(letter);
        }
        expect(found.map((l) => l.envelope?.id).sort()).toEqual([lostA.id, lostB.id].sort());
        return found;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(letters.map((l) => l.entry.errorKind)).toEqual(['exhausted', 'exhausted']);
    await kit.admin.clearFaults();
    expect((await kit.admin.counts(a.location.id)).messages.inbound).toBe(0);
    expect((await kit.admin.counts(b.location.id)).messages.inbound).toBe(1);

    const report = await run(
      (async function* () {
        for (const letter of letters) yield deadLetterItem(letter);
      })(),
      redrivePublisher(store),
    );

    expect(outcomes(report)).toEqual({ [lostA.id]: 'applied', [lostB.id]: 'applied' });
    expect(report.results.find((r) => r.item.envelope?.id === lostB.id)?.detail).toMatch(/reconciled/);
    for (const [location, event] of [
      [a.location, lostA],
      [b.location, lostB],
    ] as const) {
      const counts = await kit.admin.counts(location.id);
      expect(counts.messagesByAltId).toEqual({ [event.payload.waMessageId]: 1 });
      const left = [];
      for await (const entry of store.list({ locationId: location.id })) left.push(entry);
      expect(left).toEqual([]);
    }
  }, 60_000);

  it('a replay running while live traffic flows neither delays nor duplicates live messages', async () => {
    const replayed = await kit.installedLocation();
    const live = await kit.installedLocation();
    const since = new Date(Date.now() - 1_000);
    const backlog = await refusedMessages(replayed.location.id, 16);
    // Every replayed write now takes GHL 400 ms: the replay keeps all of its 4 slots busy for ~1.6 s.
    await kit.admin.addFault({
      match: { operationId: 'add-an-inbound-message', locationId: replayed.location.id },
      action: { kind: 'delay', ms: 400 },
    });
    const phone = newPhone();
    const warm = await kit.publish('message.inbound', live.location.id, inboundText(phone, 'warm-up'));
    await eventually(() => expect(kit.results(warm.id)).toHaveLength(1), { timeoutMs: 10_000 });

    const replaying = replayWindow(replayed.location.id, since);
    let replayDoneAt = 0;
    void replaying.then(() => (replayDoneAt = Date.now()));
    // Once the replay has started writing, live messages arrive for another location.
    await eventually(async () => expect((await kit.admin.faults())[0]?.hits ?? 0).toBeGreaterThan(0), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    const liveEvents: EventEnvelope<'message.inbound'>[] = [];
    for (let i = 0; i < 8; i++) {
      liveEvents.push(
        await kit.publish('message.inbound', live.location.id, inboundText(newPhone(), `live ${i}`)),
      );
    }
    await eventually(
      () =>
        expect(liveEvents.filter((e) => kit.results(e.id)[0]?.payload.outcome === 'applied')).toHaveLength(8),
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const liveDoneAt = Date.now();
    const report = await replaying;

    // The live messages were written while the replay still had its backlog in flight.
    expect(liveDoneAt).toBeLessThan(replayDoneAt);
    expect(report.counts).toMatchObject({ applied: 16, failed: 0, no_outcome: 0 });
    expect(outcomes(report)).toEqual(Object.fromEntries(backlog.map((e) => [e.id, 'applied'])));
    const counts = await kit.admin.counts(live.location.id);
    expect(counts.messages.inbound).toBe(9);
    expect(counts.duplicateAltIds).toEqual([]);
    for (const event of liveEvents)
      expect(kit.results(event.id).map((r) => r.payload.outcome)).toEqual(['applied']);
    expect((await kit.admin.counts(replayed.location.id)).duplicateAltIds).toEqual([]);
  }, 60_000);
});
