import { parseWith, replayOutcomeSchema, replayOutcomeSubject, type ReplayOutcome } from '@app/contracts';
import type { Subscription } from 'nats';
import { MessagingConnection } from './nats-connection';

export interface ReplayOutcomeSubscription {
  /** The server knows the subscription (one round trip): publish the run only after this. */
  ready: Promise<void>;
  close(): void;
}

/**
 * What sync did with each replayed event, told to the replay tool that is waiting for it. Core NATS
 * (not stored): an outcome nobody waits for any more is worth nothing, and the tool reports an event
 * without one as such.
 */
export class ReplayOutcomeChannel {
  constructor(private readonly connection: MessagingConnection) {}

  publish(outcome: ReplayOutcome): void {
    const valid = parseWith(replayOutcomeSchema, outcome, 'replay outcome');
    this.connection.nc.publish(replayOutcomeSubject(valid.runId), JSON.stringify(valid));
  }

  /** Calls `onOutcome` for each valid outcome of the run; anything else on the subject is ignored. */
  subscribe(runId: string, onOutcome: (outcome: ReplayOutcome) => void): ReplayOutcomeSubscription {
    const subscription: Subscription = this.connection.nc.subscribe(replayOutcomeSubject(runId), {
      callback: (err, msg) => {
        if (err) return;
        const parsed = replayOutcomeSchema.safeParse(safeJson(msg.string()));
        if (parsed.success && parsed.data.runId === runId) onOutcome(parsed.data);
      },
    });
    return {
      ready: this.connection.nc.flush(),
      close: () => subscription.unsubscribe(),
    };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
