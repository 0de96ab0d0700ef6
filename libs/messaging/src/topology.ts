import {
  AckPolicy,
  ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  nanos,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  StreamConfig,
} from 'nats';
import { SUBJECT_ROOTS } from '@app/contracts';

/** The three streams of the product. Names are part of the deployed state: never rename one. */
export const STREAMS = { events: 'EVENTS', deadLetters: 'DLQ', replay: 'REPLAY' } as const;
export type StreamName = (typeof STREAMS)[keyof typeof STREAMS];

const DAY_MS = 24 * 60 * 60 * 1000;

export interface StreamTopologyOptions {
  /** How long events are kept for replay and debugging. Default 7 days. */
  eventsMaxAgeMs?: number;
  /** Dead letters wait for a human, so they are kept longer. Default 30 days. */
  deadLettersMaxAgeMs?: number;
  /** Replayed events only need to live until the replay consumer has handled them. Default 1 day. */
  replayMaxAgeMs?: number;
  /** Window in which a repeated envelope id is dropped. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Copies per message in a clustered NATS. Default 1 (single server). */
  replicas?: number;
}

export interface StreamDefinition {
  name: StreamName;
  description: string;
  subjects: string[];
  maxAgeMs: number;
  duplicateWindowMs: number;
  replicas: number;
}

// Long enough to cover a publisher's retries after a lost ack or a reconnect, short enough that the
// server's de-dup index stays small.
const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

export function streamDefinitions(options: StreamTopologyOptions = {}): StreamDefinition[] {
  const duplicateWindowMs = options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
  const replicas = options.replicas ?? 1;
  const defs: StreamDefinition[] = [
    {
      name: STREAMS.events,
      description: 'Durable product events, evt.<locationId>.<type>',
      subjects: [`${SUBJECT_ROOTS.events}.>`],
      maxAgeMs: options.eventsMaxAgeMs ?? 7 * DAY_MS,
      duplicateWindowMs,
      replicas,
    },
    {
      name: STREAMS.deadLetters,
      description: 'Messages a consumer gave up on, dlq.<original subject>, reason in Dlq-* headers',
      subjects: [`${SUBJECT_ROOTS.deadLetters}.>`],
      maxAgeMs: options.deadLettersMaxAgeMs ?? 30 * DAY_MS,
      duplicateWindowMs,
      replicas,
    },
    {
      name: STREAMS.replay,
      description: 'Events re-fed by the replay tool, replay.<locationId>.<type>',
      subjects: [`${SUBJECT_ROOTS.replay}.>`],
      maxAgeMs: options.replayMaxAgeMs ?? DAY_MS,
      duplicateWindowMs,
      replicas,
    },
  ];
  for (const def of defs) {
    if (!(def.maxAgeMs > 0)) throw new Error(`stream ${def.name}: max age must be > 0`);
    // The server refuses a de-dup window longer than the retention.
    if (def.duplicateWindowMs > def.maxAgeMs) def.duplicateWindowMs = def.maxAgeMs;
  }
  return defs;
}

export function toStreamConfig(def: StreamDefinition): Partial<StreamConfig> {
  return {
    name: def.name,
    description: def.description,
    subjects: def.subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(def.maxAgeMs),
    duplicate_window: nanos(def.duplicateWindowMs),
    num_replicas: def.replicas,
  };
}

/** A durable pull consumer. It carries its stream, so the same runner can read EVENTS or REPLAY. */
export interface ConsumerDefinition {
  stream: StreamName | (string & {});
  /** Durable name, shared by every replica of the consuming app (they split the work). */
  durable: string;
  /** One subject filter (NATS 2.9 supports only one per consumer). */
  filterSubject: string;
  /** Deliveries before a failing message is dead-lettered. Default 10. */
  maxDeliver?: number;
  /** How long the server waits for an ack before redelivering. Default 30 s. */
  ackWaitMs?: number;
  /** Unacknowledged messages the server lets out at once, across replicas. Default 1000. */
  maxAckPending?: number;
  /** Where a newly created consumer starts. Default 'all'. Fixed once created. */
  deliverPolicy?: 'all' | 'new';
  description?: string;
}

export type ResolvedConsumerDefinition = Required<Omit<ConsumerDefinition, 'description'>> & {
  description?: string;
};

export const CONSUMER_DEFAULTS = {
  maxDeliver: 10,
  ackWaitMs: 30_000,
  maxAckPending: 1_000,
  deliverPolicy: 'all',
} as const;

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

export function resolveConsumerDefinition(def: ConsumerDefinition): ResolvedConsumerDefinition {
  if (!NAME_PATTERN.test(def.durable)) {
    throw new Error(
      `consumer durable name ${JSON.stringify(def.durable)} must be letters, digits, "_" or "-"`,
    );
  }
  if (!NAME_PATTERN.test(def.stream)) throw new Error(`invalid stream name ${JSON.stringify(def.stream)}`);
  if (def.filterSubject.trim() === '' || /\s/.test(def.filterSubject)) {
    throw new Error(`consumer ${def.durable}: invalid filter subject ${JSON.stringify(def.filterSubject)}`);
  }
  const resolved: ResolvedConsumerDefinition = {
    stream: def.stream,
    durable: def.durable,
    filterSubject: def.filterSubject,
    maxDeliver: def.maxDeliver ?? CONSUMER_DEFAULTS.maxDeliver,
    ackWaitMs: def.ackWaitMs ?? CONSUMER_DEFAULTS.ackWaitMs,
    maxAckPending: def.maxAckPending ?? CONSUMER_DEFAULTS.maxAckPending,
    deliverPolicy: def.deliverPolicy ?? CONSUMER_DEFAULTS.deliverPolicy,
    description: def.description,
  };
  if (!(resolved.maxDeliver === -1 || resolved.maxDeliver >= 1)) {
    throw new Error(`consumer ${def.durable}: maxDeliver must be >= 1 or -1 (unlimited)`);
  }
  if (!(resolved.ackWaitMs >= 1_000)) throw new Error(`consumer ${def.durable}: ackWaitMs must be >= 1000`);
  if (!(resolved.maxAckPending >= 1)) throw new Error(`consumer ${def.durable}: maxAckPending must be >= 1`);
  return resolved;
}

export function toConsumerConfig(def: ResolvedConsumerDefinition): Partial<ConsumerConfig> {
  return {
    durable_name: def.durable,
    description: def.description,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: def.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    filter_subject: def.filterSubject,
    max_deliver: def.maxDeliver,
    ack_wait: nanos(def.ackWaitMs),
    max_ack_pending: def.maxAckPending,
  };
}
