import { ContractViolation, EventEnvelope } from '@app/contracts';
import { ConsumerDebugEvents, ConsumerEvents, ConsumerMessages, headers as natsHeaders, JsMsg } from 'nats';
import type { Logger } from 'pino';
import { backoffDelayMs, BackoffPolicy, backoffPolicy } from './backoff';
import { busMetrics } from './bus.metrics';
import { buildDeadLetter, fitDeadLetter } from './dead-letter';
import { decodeEventMessage } from './event-decoder';
import { KeyedScheduler } from './keyed-scheduler';
import { MessagingConnection } from './nats-connection';
import {
  decideSettlement,
  describeError,
  HandledOutcomeLabel,
  HandlingOutcome,
  isFinalDelivery,
  outcomeLabel,
  Settlement,
} from './settlement';
import { retryWhileUnavailable } from './retry-while-unavailable';
import { apiErrorCode, StreamProvisioner } from './stream-provisioner';
import { ConsumerDefinition, ResolvedConsumerDefinition, resolveConsumerDefinition } from './topology';

export interface HandlerContext {
  subject: string;
  stream: string;
  consumer: string;
  /** 1 on the first delivery. */
  deliveryCount: number;
  streamSeq: number;
  /** A failure now dead-letters the message instead of retrying it. */
  isFinalDelivery: boolean;
  /** Tells the server the handler is still busy, resetting ack_wait. Call it during long work. */
  working(): void;
  /** A header of the delivered message; undefined when absent or empty. */
  header(name: string): string | undefined;
}

/**
 * Handles one event. Resolve once the side effect is durable (the message is then acked). Throw
 * `TransientError` to retry with backoff, `PermanentError` to dead-letter at once; anything else is
 * retried like a transient failure.
 */
export type EventHandler = (envelope: EventEnvelope, ctx: HandlerContext) => Promise<void>;

export interface ConsumerRunnerOptions {
  consumer: ConsumerDefinition;
  handler: EventHandler;
  /** Handlers in flight at once. Default 1 (stream order). */
  concurrency?: number;
  /** Messages with the same key are handled one at a time, in stream order (e.g. per location or chat). */
  orderingKey?: (envelope: EventEnvelope) => string | undefined;
  /** Redelivery delays after the 1st, 2nd, ... failure. */
  backoffMs?: readonly number[];
  /** ±fraction applied to each delay. Default 0.2. */
  backoffJitter?: number;
  /** Messages requested per pull. Default 2 × concurrency (at least 8); see `ackWaitMs`. */
  pullBatch?: number;
  /** Lifetime of one pull request; also sets the idle heartbeat (half of it). Default 10 s. */
  pullExpiresMs?: number;
  /** Bound on one dead-letter publish attempt. Default 5 s. */
  deadLetterTimeoutMs?: number;
  /** Pauses before re-opening the subscription after it failed. */
  restartDelaysMs?: readonly number[];
}

type Prepared =
  | { kind: 'valid'; envelope: EventEnvelope }
  | { kind: 'invalid'; reason: string }
  | { kind: 'broken'; error: unknown };

const DEFAULT_RESTART_DELAYS_MS = [250, 1_000, 2_000, 5_000, 10_000];
const DEFAULT_PULL_EXPIRES_MS = 10_000;
const DEFAULT_DEAD_LETTER_TIMEOUT_MS = 5_000;
// Consecutive "consumer/stream not found" reports before we re-create them: one can be a blip while a
// restarted server is still loading its streams.
const MISSING_RESOURCE_THRESHOLD = 2;

/**
 * Pulls from one durable JetStream consumer and applies the settlement policy (settlement.ts) to each
 * delivery. It keeps going after any failure of a message, of the connection, or of the server.
 *
 * Budget ack_wait for the worst wait of a message held by this process: up to `pullBatch` messages
 * are buffered while `concurrency` handlers run. Messages waiting behind their ordering key are kept
 * alive automatically; a handler doing long work should call `ctx.working()`.
 */
export class ConsumerRunner {
  readonly name: string;
  private readonly def: ResolvedConsumerDefinition;
  private readonly handler: EventHandler;
  private readonly orderingKey: ((envelope: EventEnvelope) => string | undefined) | undefined;
  private readonly backoff: BackoffPolicy;
  private readonly scheduler: KeyedScheduler;
  private readonly pullBatch: number;
  private readonly pullExpiresMs: number;
  private readonly deadLetterTimeoutMs: number;
  private readonly restartDelaysMs: readonly number[];
  private readonly logger: Logger;
  private readonly handledBy: Record<HandledOutcomeLabel, { inc(): void }>;
  private readonly duration: { observe(value: number): void };

  private loopDone: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private stopping = false;
  private messages: ConsumerMessages | undefined;
  private readonly waitingForKey = new Set<JsMsg>();
  private readonly wakers = new Set<() => void>();
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: MessagingConnection,
    private readonly provisioner: StreamProvisioner,
    options: ConsumerRunnerOptions,
    logger: Logger,
  ) {
    this.def = resolveConsumerDefinition(options.consumer);
    this.name = this.def.durable;
    this.handler = options.handler;
    this.orderingKey = options.orderingKey;
    this.backoff = backoffPolicy(options.backoffMs, options.backoffJitter);
    const concurrency = options.concurrency ?? 1;
    this.scheduler = new KeyedScheduler(concurrency);
    this.pullBatch = options.pullBatch ?? Math.max(8, concurrency * 2);
    this.pullExpiresMs = options.pullExpiresMs ?? DEFAULT_PULL_EXPIRES_MS;
    this.deadLetterTimeoutMs = options.deadLetterTimeoutMs ?? DEFAULT_DEAD_LETTER_TIMEOUT_MS;
    this.restartDelaysMs = options.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS;
    this.logger = logger.child({
      component: 'consumer-runner',
      consumer: this.name,
      stream: this.def.stream,
    });
    // Label children are resolved once: the hot path should not hash label sets per message.
    const handled = (outcome: HandledOutcomeLabel) =>
      busMetrics.handled.labels({ consumer: this.name, outcome });
    this.handledBy = {
      ack: handled('ack'),
      nak: handled('nak'),
      term_invalid: handled('term_invalid'),
      term_permanent: handled('term_permanent'),
      dead_lettered: handled('dead_lettered'),
    };
    this.duration = busMetrics.handlerDuration.labels({ consumer: this.name });
  }

  get definition(): ResolvedConsumerDefinition {
    return this.def;
  }

  get running(): boolean {
    return this.loopDone !== undefined && !this.stopping;
  }

  /**
   * Creates or updates the durable consumer (waiting while JetStream does not answer; failing at once
   * on a configuration the server refuses), then consumes in the background until `stop()`.
   */
  async start(): Promise<void> {
    if (this.loopDone) throw new Error(`consumer ${this.name} was already started`);
    await retryWhileUnavailable(`consumer ${this.name}`, () => this.provisioner.ensureConsumer(this.def), {
      logger: this.logger,
      delaysMs: this.restartDelaysMs,
      shouldStop: () => this.stopping,
      pause: (ms) => this.pause(ms),
    });
    if (this.stopping) return;
    if (this.orderingKey) {
      this.keepAlive = setInterval(() => this.keepWaitingAlive(), Math.floor(this.def.ackWaitMs / 3));
      this.keepAlive.unref();
    }
    this.loopDone = this.loop();
    this.logger.info(
      {
        filter: this.def.filterSubject,
        concurrency: this.scheduler.concurrency,
        maxDeliver: this.def.maxDeliver,
      },
      'consumer started',
    );
  }

  /** Stops pulling, hands back messages not yet started, waits for running handlers to settle. */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakers) wake();
    if (!this.loopDone) return;
    await this.messages?.close().catch(() => undefined);
    await this.loopDone;
    await this.scheduler.idle();
    clearInterval(this.keepAlive);
    this.logger.info('consumer stopped');
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let missing = false;
    while (!this.stopping) {
      if (this.connection.isClosed()) {
        this.logger.error('NATS connection closed; consumer stops');
        return;
      }
      try {
        if (missing) {
          await this.reprovision();
          missing = false;
        }
        const consumer = await this.connection.js.consumers.get(this.def.stream, this.def.durable);
        const messages = await consumer.consume({
          max_messages: this.pullBatch,
          expires: this.pullExpiresMs,
        });
        this.messages = messages;
        if (this.stopping) {
          await messages.close();
          return;
        }
        void this.watchStatus(messages);
        for await (const msg of messages) {
          failures = 0;
          await this.dispatch(msg);
        }
        if (this.stopping) return;
        const err = await messages.closed();
        this.logger.warn({ err }, 'consume ended unexpectedly; re-opening');
      } catch (err) {
        if (this.stopping) return;
        missing = isMissingResource(err);
        this.logger.warn({ err, missing }, 'consume failed; re-opening');
      } finally {
        this.messages = undefined;
      }
      busMetrics.consumerRestarts.inc({ consumer: this.name });
      failures += 1;
      await this.pause(this.restartDelaysMs[Math.min(failures, this.restartDelaysMs.length) - 1] ?? 1_000);
    }
  }

  private async watchStatus(messages: ConsumerMessages): Promise<void> {
    for await (const status of await messages.status()) {
      switch (status.type) {
        case ConsumerEvents.HeartbeatsMissed:
          this.logger.warn({ missed: status.data }, 'consumer heartbeats missed; re-checking the consumer');
          break;
        case ConsumerEvents.ConsumerNotFound:
        case ConsumerEvents.StreamNotFound:
        case ConsumerEvents.ConsumerDeleted:
          this.logger.error(
            { status: status.type, detail: status.data },
            'consumer or stream missing on the server',
          );
          if (
            status.type === ConsumerEvents.ConsumerDeleted ||
            Number(status.data) >= MISSING_RESOURCE_THRESHOLD
          ) {
            // Ending this subscription makes the loop re-create what is missing.
            void messages.close();
          }
          break;
        case ConsumerEvents.NoResponders:
          this.logger.warn('JetStream did not answer a pull request');
          break;
        case ConsumerEvents.OrderedConsumerRecreated:
        case ConsumerDebugEvents.DebugEvent:
        case ConsumerDebugEvents.Discard:
        case ConsumerDebugEvents.Reset:
        case ConsumerDebugEvents.Next:
          break;
      }
    }
  }

  private async reprovision(): Promise<void> {
    this.logger.warn('re-creating a missing stream or consumer');
    await this.provisioner.ensureStreams();
    await this.provisioner.ensureConsumer(this.def);
  }

  private async dispatch(msg: JsMsg): Promise<void> {
    if (this.stopping) {
      this.handBack(msg);
      return;
    }
    const prepared = prepare(msg);
    const key = prepared.kind === 'valid' ? this.keyOf(prepared.envelope) : undefined;
    if (key !== undefined) this.waitingForKey.add(msg);
    await this.scheduler.schedule(key, () => {
      this.waitingForKey.delete(msg);
      return this.process(msg, prepared);
    });
  }

  private keyOf(envelope: EventEnvelope): string | undefined {
    if (!this.orderingKey) return undefined;
    try {
      return this.orderingKey(envelope);
    } catch (err) {
      this.logger.warn(
        { err, eventId: envelope.id },
        'orderingKey threw; handling the message without a key',
      );
      return undefined;
    }
  }

  private async process(msg: JsMsg, prepared: Prepared): Promise<void> {
    if (this.stopping) {
      this.handBack(msg);
      return;
    }
    const info = msg.info;
    const deliveryCount = info.deliveryCount;
    let outcome: HandlingOutcome;
    switch (prepared.kind) {
      case 'invalid':
        outcome = { kind: 'invalid', reason: prepared.reason };
        break;
      case 'broken':
        outcome = { kind: 'failed', error: prepared.error };
        break;
      case 'valid': {
        const ctx: HandlerContext = {
          subject: msg.subject,
          stream: info.stream,
          consumer: this.name,
          deliveryCount,
          streamSeq: info.streamSequence,
          isFinalDelivery: isFinalDelivery(deliveryCount, this.def.maxDeliver),
          working: () => msg.working(),
          header: (name) => msg.headers?.get(name) || undefined,
        };
        const started = performance.now();
        try {
          await this.handler(prepared.envelope, ctx);
          outcome = { kind: 'handled' };
        } catch (error) {
          outcome = { kind: 'failed', error };
        }
        this.duration.observe((performance.now() - started) / 1000);
        break;
      }
    }
    const settlement = decideSettlement({
      outcome,
      deliveryCount,
      maxDeliver: this.def.maxDeliver,
      backoff: this.backoff,
    });
    try {
      await this.settle(msg, settlement, prepared);
    } catch (err) {
      // Settling writes to the socket; if the connection is gone the server redelivers after ack_wait.
      this.logger.warn({ err, streamSeq: info.streamSequence }, 'could not settle a message');
    }
  }

  private async settle(msg: JsMsg, settlement: Settlement, prepared: Prepared): Promise<void> {
    const info = msg.info;
    const envelope = prepared.kind === 'valid' ? prepared.envelope : undefined;
    const fields = {
      subject: msg.subject,
      streamSeq: info.streamSequence,
      deliveryCount: info.deliveryCount,
      eventId: envelope?.id,
      eventType: envelope?.type,
    };
    switch (settlement.action) {
      case 'ack':
        msg.ack();
        this.handledBy.ack.inc();
        return;
      case 'nak':
        // A wait the handler planned (rate limit, ordering) is routine; an unplanned failure is not.
        this.logger[settlement.planned ? 'debug' : 'warn'](
          { ...fields, reason: settlement.reason, delayMs: settlement.delayMs },
          settlement.planned ? 'handler asked to retry later' : 'handler failed; will retry',
        );
        msg.nak(settlement.delayMs);
        this.handledBy.nak.inc();
        return;
      case 'dead_letter': {
        this.logger.error(
          { ...fields, kind: settlement.kind, reason: settlement.reason },
          'dead-lettering a message',
        );
        const stored = await this.copyToDeadLetters(msg, settlement.kind, settlement.reason, envelope);
        if (stored) {
          msg.term();
          this.handledBy[outcomeLabel(settlement)].inc();
          busMetrics.deadLetters.inc({ consumer: this.name, kind: settlement.kind });
        } else if (!isFinalDelivery(info.deliveryCount, this.def.maxDeliver)) {
          msg.nak();
          this.handledBy.nak.inc();
        } else {
          this.logger.error(
            fields,
            'stopped before the dead letter was stored; the message stays only in its stream',
          );
        }
        return;
      }
    }
  }

  /**
   * Publishes the original bytes to the dead-letter stream, retrying until it is stored or the runner
   * stops: terminating before the copy is acknowledged could lose the message for good.
   */
  private async copyToDeadLetters(
    msg: JsMsg,
    kind: 'invalid' | 'permanent' | 'exhausted',
    reason: string,
    envelope: EventEnvelope | undefined,
  ): Promise<boolean> {
    const info = msg.info;
    const letter = buildDeadLetter({
      originalSubject: msg.subject,
      originalHeaders: msg.headers ?? [],
      consumer: this.name,
      stream: info.stream,
      streamSeq: info.streamSequence,
      deliveryCount: info.deliveryCount,
      kind,
      reason,
      failedAt: new Date(),
      event: envelope ? { id: envelope.id, type: envelope.type } : undefined,
    });
    for (let attempt = 1; ; attempt++) {
      try {
        // Known once connected; until then the publish fails anyway and is retried.
        const maxPayload = this.connection.nc.info?.max_payload;
        const fitted = maxPayload
          ? fitDeadLetter(letter, msg.data, maxPayload)
          : { ...letter, body: msg.data };
        const hdrs = natsHeaders();
        for (const [key, value] of fitted.headers) hdrs.append(key, value);
        await this.connection.js.publish(letter.subject, fitted.body, {
          msgID: letter.msgId,
          headers: hdrs,
          timeout: this.deadLetterTimeoutMs,
        });
        return true;
      } catch (err) {
        if (this.stopping) return false;
        const delayMs = backoffDelayMs(attempt, this.backoff);
        this.logger.warn(
          { err, subject: letter.subject, attempt, delayMs },
          'dead-letter publish failed; retrying',
        );
        try {
          msg.working();
        } catch {
          // Disconnected: the retry below is what matters.
        }
        await this.pause(delayMs);
        if (this.stopping) return false;
      }
    }
  }

  /** Returns a message we will not handle to the server for immediate redelivery (to another replica). */
  private handBack(msg: JsMsg): void {
    try {
      msg.nak();
    } catch {
      // Connection gone: the server redelivers after ack_wait anyway.
    }
  }

  private keepWaitingAlive(): void {
    for (const msg of this.waitingForKey) {
      try {
        msg.working();
      } catch {
        return;
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}

function prepare(msg: JsMsg): Prepared {
  try {
    const decoded = decodeEventMessage(msg.subject, msg.data);
    return decoded.ok
      ? { kind: 'valid', envelope: decoded.envelope }
      : { kind: 'invalid', reason: decoded.reason };
  } catch (error) {
    // Not a contract problem but a bug while decoding: retry like any unknown failure.
    if (error instanceof ContractViolation) return { kind: 'invalid', reason: error.message };
    return { kind: 'broken', error: new Error(`decoding failed: ${describeError(error)}`, { cause: error }) };
  }
}

function isMissingResource(err: unknown): boolean {
  const code = apiErrorCode(err);
  if (code === 10014 || code === 10059) return true;
  const message = err instanceof Error ? err.message : '';
  return message === 'consumer not found' || message === 'stream not found';
}
