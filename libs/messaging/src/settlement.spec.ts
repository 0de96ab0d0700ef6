import fc from 'fast-check';
import { backoffPolicy } from './backoff';
import { PermanentError } from './errors/permanent.error';
import { TransientError } from './errors/transient.error';
import {
  classifyFailure,
  decideSettlement,
  HandlingOutcome,
  isFinalDelivery,
  MAX_REASON_LENGTH,
  outcomeLabel,
  Settlement,
} from './settlement';

const backoff = backoffPolicy([100, 200, 400], 0);
const decide = (outcome: HandlingOutcome, deliveryCount: number, maxDeliver = 5) =>
  decideSettlement({ outcome, deliveryCount, maxDeliver, backoff, random: () => 0.5 });
const failed = (error: unknown): HandlingOutcome => ({ kind: 'failed', error });

describe('settlement decision table', () => {
  it.each([1, 4, 5, 9])('acks a handled message on delivery %i, final or not', (deliveryCount) => {
    expect(decide({ kind: 'handled' }, deliveryCount)).toEqual({ action: 'ack' });
  });

  it.each([1, 5])(
    'dead-letters an invalid message as "invalid" without retry (delivery %i)',
    (deliveryCount) => {
      expect(decide({ kind: 'invalid', reason: 'invalid JSON: Unexpected token' }, deliveryCount)).toEqual({
        action: 'dead_letter',
        kind: 'invalid',
        reason: 'invalid JSON: Unexpected token',
      });
    },
  );

  it.each([1, 5])('dead-letters a PermanentError at once, with its detail (delivery %i)', (deliveryCount) => {
    expect(decide(failed(new PermanentError('contact rejected', 'GHL 422')), deliveryCount)).toEqual({
      action: 'dead_letter',
      kind: 'permanent',
      reason: 'PermanentError: contact rejected (GHL 422)',
    });
  });

  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 400],
  ])('naks a TransientError on delivery %i with the backoff delay %i ms', (deliveryCount, delayMs) => {
    expect(decide(failed(new TransientError('GHL 503')), deliveryCount)).toEqual({
      action: 'nak',
      delayMs,
      reason: 'TransientError: GHL 503',
      planned: false,
    });
  });

  it('uses retryAfterMs instead of the backoff when the handler gives one, as a planned wait', () => {
    expect(decide(failed(new TransientError('429', { retryAfterMs: 7_000 })), 1)).toMatchObject({
      action: 'nak',
      delayMs: 7_000,
      planned: true,
    });
    expect(decide(failed(new TransientError('429', { retryAfterMs: 0 })), 3)).toMatchObject({ delayMs: 0 });
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])(
    'ignores an unusable retryAfterMs (%p)',
    (retryAfterMs) => {
      expect(decide(failed(new TransientError('x', { retryAfterMs })), 2)).toMatchObject({
        action: 'nak',
        delayMs: 200,
        planned: false,
      });
    },
  );

  it('treats unknown errors and non-errors as transient', () => {
    expect(decide(failed(new Error('ECONNRESET')), 1)).toEqual({
      action: 'nak',
      delayMs: 100,
      reason: 'Error: ECONNRESET',
      planned: false,
    });
    expect(decide(failed('a string'), 1)).toMatchObject({ action: 'nak', reason: 'a string' });
    expect(decide(failed({ code: 42 }), 1)).toMatchObject({
      action: 'nak',
      reason: 'non-error thrown: {"code":42}',
    });
  });

  it.each([
    ['TransientError', new TransientError('still down', { retryAfterMs: 50 })],
    ['unknown error', new Error('boom')],
  ])('dead-letters a %s on the final delivery as "exhausted"', (_name, error) => {
    const settlement = decide(failed(error), 5, 5);
    expect(settlement).toMatchObject({ action: 'dead_letter', kind: 'exhausted' });
    expect((settlement as Extract<Settlement, { action: 'dead_letter' }>).reason).toMatch(
      /^gave up after 5 deliveries: /,
    );
  });

  it('treats a delivery beyond max_deliver (config lowered meanwhile) as final', () => {
    expect(decide(failed(new Error('x')), 7, 5)).toMatchObject({ action: 'dead_letter', kind: 'exhausted' });
  });

  it('never exhausts when max_deliver is unlimited', () => {
    expect(decide(failed(new Error('x')), 10_000, -1)).toMatchObject({ action: 'nak', delayMs: 400 });
    expect(isFinalDelivery(10_000, -1)).toBe(false);
    expect(isFinalDelivery(10_000, 0)).toBe(false);
  });

  it('truncates long reasons to what a header can carry', () => {
    const settlement = decide({ kind: 'invalid', reason: 'x'.repeat(5_000) }, 1);
    expect(settlement.action === 'dead_letter' && settlement.reason.length).toBe(MAX_REASON_LENGTH);
  });

  it('holds its invariants for any outcome and delivery count', () => {
    const outcome = fc.oneof(
      fc.constant<HandlingOutcome>({ kind: 'handled' }),
      fc.string().map<HandlingOutcome>((reason) => ({ kind: 'invalid', reason })),
      fc.string().map((m) => failed(new PermanentError(m))),
      fc
        .tuple(fc.string(), fc.option(fc.nat(100_000), { nil: undefined }))
        .map(([m, retryAfterMs]) => failed(new TransientError(m, { retryAfterMs }))),
      fc.anything().map(failed),
    );
    fc.assert(
      fc.property(
        outcome,
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: -1, max: 20 }),
        (o, count, max) => {
          const s = decideSettlement({ outcome: o, deliveryCount: count, maxDeliver: max, backoff });
          expect(s.action === 'ack').toBe(o.kind === 'handled');
          if (isFinalDelivery(count, max)) expect(s.action).not.toBe('nak');
          if (o.kind === 'invalid') expect(s).toMatchObject({ action: 'dead_letter', kind: 'invalid' });
          if (s.action === 'nak') expect(s.delayMs).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

describe('classifyFailure', () => {
  it('keeps retryAfterMs of a TransientError', () => {
    expect(classifyFailure(new TransientError('429', { retryAfterMs: 30 }))).toEqual({
      kind: 'transient',
      retryAfterMs: 30,
      reason: 'TransientError: 429',
    });
  });
});

describe('outcomeLabel', () => {
  it.each<[Settlement, string]>([
    [{ action: 'ack' }, 'ack'],
    [{ action: 'nak', delayMs: 1, reason: 'r', planned: false }, 'nak'],
    [{ action: 'dead_letter', kind: 'invalid', reason: 'r' }, 'term_invalid'],
    [{ action: 'dead_letter', kind: 'permanent', reason: 'r' }, 'term_permanent'],
    [{ action: 'dead_letter', kind: 'exhausted', reason: 'r' }, 'dead_lettered'],
  ])('labels %j as %s', (settlement, label) => {
    expect(outcomeLabel(settlement)).toBe(label);
  });
});
