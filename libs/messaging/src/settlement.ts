import { BackoffPolicy, backoffDelayMs } from './backoff';
import { PermanentError } from './errors/permanent.error';
import { TransientError } from './errors/transient.error';

/**
 * The settlement policy of every JetStream consumer, as a pure function so the whole decision table
 * can be tested without a server. The runner only carries the decision out.
 */

/** What happened to one delivery before settling it. */
export type HandlingOutcome =
  | { kind: 'handled' }
  /** Not JSON, not an envelope, or not the event its subject says: no retry can fix it. */
  | { kind: 'invalid'; reason: string }
  | { kind: 'failed'; error: unknown };

export type DeadLetterKind = 'invalid' | 'permanent' | 'exhausted';

export type Settlement =
  | { action: 'ack' }
  /**
   * Redeliver after `delayMs`. `planned`: the handler chose the delay (a TransientError with
   * `retryAfterMs`: a rate limit, waiting for an earlier message) — an expected wait, not a failure.
   */
  | { action: 'nak'; delayMs: number; reason: string; planned: boolean }
  /** Copy to the dead-letter stream, then `term()` so the server never delivers it again. */
  | { action: 'dead_letter'; kind: DeadLetterKind; reason: string };

export interface SettlementInput {
  outcome: HandlingOutcome;
  /** 1 on the first delivery. */
  deliveryCount: number;
  /** The consumer's `max_deliver`; 0 or negative means unlimited. */
  maxDeliver: number;
  backoff: BackoffPolicy;
  random?: () => number;
}

export type FailureClass =
  | { kind: 'transient'; retryAfterMs: number | undefined; reason: string }
  | { kind: 'permanent'; reason: string };

/** Longest reason we keep; it travels in a header and a log line. */
export const MAX_REASON_LENGTH = 1_000;

export function isFinalDelivery(deliveryCount: number, maxDeliver: number): boolean {
  return maxDeliver > 0 && deliveryCount >= maxDeliver;
}

/** Unknown errors count as transient: a bug fixed by a deploy should not have thrown data away. */
export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof PermanentError) {
    const detail = error.detail ? ` (${error.detail})` : '';
    return { kind: 'permanent', reason: truncateReason(`${error.name}: ${error.message}${detail}`) };
  }
  if (error instanceof TransientError) {
    const retryAfterMs =
      error.retryAfterMs !== undefined && Number.isFinite(error.retryAfterMs) && error.retryAfterMs >= 0
        ? error.retryAfterMs
        : undefined;
    return { kind: 'transient', retryAfterMs, reason: truncateReason(`${error.name}: ${error.message}`) };
  }
  return { kind: 'transient', retryAfterMs: undefined, reason: truncateReason(describeError(error)) };
}

export function decideSettlement(input: SettlementInput): Settlement {
  const { outcome, deliveryCount, maxDeliver } = input;
  switch (outcome.kind) {
    case 'handled':
      return { action: 'ack' };
    case 'invalid':
      return { action: 'dead_letter', kind: 'invalid', reason: truncateReason(outcome.reason) };
    case 'failed': {
      const failure = classifyFailure(outcome.error);
      switch (failure.kind) {
        case 'permanent':
          return { action: 'dead_letter', kind: 'permanent', reason: failure.reason };
        case 'transient':
          if (isFinalDelivery(deliveryCount, maxDeliver)) {
            const reason = `gave up after ${deliveryCount} deliveries: ${failure.reason}`;
            return { action: 'dead_letter', kind: 'exhausted', reason: truncateReason(reason) };
          }
          return {
            action: 'nak',
            delayMs: failure.retryAfterMs ?? backoffDelayMs(deliveryCount, input.backoff, input.random),
            reason: failure.reason,
            planned: failure.retryAfterMs !== undefined,
          };
      }
    }
  }
}

/** The `outcome` label of `bus_messages_handled_total`. */
export type HandledOutcomeLabel = 'ack' | 'nak' | 'term_invalid' | 'term_permanent' | 'dead_lettered';

export function outcomeLabel(settlement: Settlement): HandledOutcomeLabel {
  switch (settlement.action) {
    case 'ack':
      return 'ack';
    case 'nak':
      return 'nak';
    case 'dead_letter':
      switch (settlement.kind) {
        case 'invalid':
          return 'term_invalid';
        case 'permanent':
          return 'term_permanent';
        case 'exhausted':
          return 'dead_lettered';
      }
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'string') return error;
  try {
    return `non-error thrown: ${JSON.stringify(error)}`;
  } catch {
    return 'non-error thrown';
  }
}

export function truncateReason(reason: string): string {
  return reason.length <= MAX_REASON_LENGTH ? reason : `${reason.slice(0, MAX_REASON_LENGTH - 1)}…`;
}
