import { parseEnv, syncConfigSchema } from '@app/config';
import { createEvent, REPLAY_HEADERS, type ReplayOutcome } from '@app/contracts';
import {
  PermanentError,
  TransientError,
  type EventBus,
  type HandlerContext,
  type ReplayOutcomeChannel,
} from '@app/messaging';
import { pino } from 'pino';
import { SyncResults } from '../consumers/sync-results';
import { noteSyncOutcome, ReplayOutcomeReporter } from './replay-outcome.reporter';

const event = createEvent('message.status', 'locA', {
  waMessageId: 'W1',
  chatJid: '15550000000@s.whatsapp.net',
  status: 'read',
  error: null,
  at: '2026-03-01T00:00:00.000Z',
});

function ctx(headers: Record<string, string>, overrides: Partial<HandlerContext> = {}): HandlerContext {
  return {
    subject: 'replay.locA.message.status',
    stream: 'REPLAY',
    consumer: 'sync-replay-messages',
    deliveryCount: 2,
    streamSeq: 9,
    isFinalDelivery: false,
    working: () => undefined,
    header: (name) => headers[name],
    ...overrides,
  };
}

describe('ReplayOutcomeReporter', () => {
  const published: ReplayOutcome[] = [];
  const channel = {
    publish: (outcome: ReplayOutcome) => published.push(outcome),
  } as unknown as ReplayOutcomeChannel;
  const reporter = new ReplayOutcomeReporter(channel, pino({ level: 'silent' }));
  const run = { [REPLAY_HEADERS.run]: 'rRun1', [REPLAY_HEADERS.key]: '42' };

  beforeEach(() => {
    published.length = 0;
  });

  it('reports the outcome the handler announced, under the run and key of the message, and stores no result for a skip', async () => {
    const stored: string[] = [];
    const bus = {
      publish: async (_type: string, _loc: string, payload: { outcome: string }) =>
        void stored.push(payload.outcome),
    };
    const results = new SyncResults(
      bus as unknown as EventBus,
      parseEnv(syncConfigSchema, {}),
      pino({ level: 'silent' }),
    );
    await reporter.wrap(() =>
      results.publish(event, 'applied', { waMessageId: 'W1', ghlMessageId: 'g1', detail: 'read' }),
    )(event, ctx(run));
    await reporter.wrap(() =>
      results.publish(event, 'skipped_duplicate', { waMessageId: 'W1', ghlMessageId: 'g1' }),
    )(event, ctx(run));
    // Live (no run): the skip is stored as always.
    await reporter.wrap(() =>
      results.publish(event, 'skipped_duplicate', { waMessageId: 'W1', ghlMessageId: 'g1' }),
    )(event, ctx({}));
    expect(stored).toEqual(['applied', 'skipped_duplicate']);
    expect(published).toEqual([
      {
        runId: 'rRun1',
        key: '42',
        eventId: event.id,
        eventType: 'message.status',
        locationId: 'locA',
        outcome: 'applied',
        detail: 'read',
        ghlMessageId: 'g1',
        deliveryCount: 2,
      },
      expect.objectContaining({ outcome: 'skipped', ghlMessageId: 'g1', detail: null }),
    ]);
  });

  it('says skipped when the event needed no GHL write', async () => {
    await reporter.wrap(async () => undefined)(event, ctx(run));
    expect(published).toEqual([
      expect.objectContaining({ outcome: 'skipped', detail: 'nothing to write to GHL for this event' }),
    ]);
  });

  it('says retrying while the event will be tried again, failed when it will not, and rethrows', async () => {
    const transient = new TransientError('GHL answered 503');
    await expect(reporter.wrap(() => Promise.reject(transient))(event, ctx(run))).rejects.toBe(transient);
    const permanent = new PermanentError('GHL refused (400)', 'bad phone');
    await expect(reporter.wrap(() => Promise.reject(permanent))(event, ctx(run))).rejects.toBe(permanent);
    await expect(
      reporter.wrap(() => Promise.reject(transient))(event, ctx(run, { isFinalDelivery: true })),
    ).rejects.toBe(transient);
    expect(published.map((p) => [p.outcome, p.detail])).toEqual([
      ['retrying', 'TransientError: GHL answered 503'],
      ['failed', 'PermanentError: GHL refused (400) (bad phone)'],
      ['failed', 'TransientError: GHL answered 503'],
    ]);
  });

  it('stays silent for events no replay run is waiting for', async () => {
    await reporter.wrap(
      async () => void noteSyncOutcome('applied', { waMessageId: 'W1', ghlMessageId: 'g1' }),
    )(event, ctx({}));
    await expect(reporter.wrap(() => Promise.reject(new Error('x')))(event, ctx({}))).rejects.toThrow('x');
    await reporter.wrap(async () => undefined)(
      event,
      ctx({ [REPLAY_HEADERS.run]: 'not a run id!', [REPLAY_HEADERS.key]: '1' }),
    );
    expect(published).toEqual([]);
  });
});
