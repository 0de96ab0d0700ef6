import { AckPolicy, ConsumerConfig, DeliverPolicy, MsgHdrs, nanos, ReplayPolicy } from 'nats';
import { MessagingConnection } from './nats-connection';

/** One message as the stream stores it. */
export interface StoredMessage {
  stream: string;
  seq: number;
  subject: string;
  /** When the server stored it (the server's clock, shared by every stream). */
  storedAt: Date;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
}

export interface StreamWindow {
  stream: string;
  /** One subject filter (NATS 2.9 takes one per consumer), e.g. `evt.<locationId>.>`. */
  filterSubject: string;
  /** First sequence to read (a cursor); wins over `since`. */
  fromSeq?: number;
  /** Start at the first message stored at or after this time. */
  since?: Date;
  /** Stop before the first message stored after this time. */
  until?: Date;
  /** Messages per pull. Default 256. */
  batch?: number;
}

const DEFAULT_BATCH = 256;
// A pull is sized to what the consumer said is pending, so it is answered at once; this bounds the wait
// if messages vanish meanwhile (retention) and the pull cannot be filled.
const FETCH_EXPIRES_MS = 2_000;
// Removed by the server if the reader dies without deleting it.
const INACTIVE_THRESHOLD_MS = 30_000;

/**
 * Reads a window of a stream in stream order through an ephemeral consumer (no acks, in memory,
 * deliver policy by start sequence or by start time), then deletes it. The consumer says up front how
 * many messages match, so the reader never waits on an empty tail. Stop early by breaking out of the
 * loop; the consumer is deleted either way.
 */
export async function* readStream(
  connection: MessagingConnection,
  window: StreamWindow,
): AsyncGenerator<StoredMessage> {
  const jsm = await connection.jsm();
  const config: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.None,
    replay_policy: ReplayPolicy.Instant,
    filter_subject: window.filterSubject,
    inactive_threshold: nanos(INACTIVE_THRESHOLD_MS),
    mem_storage: true,
    num_replicas: 1,
    ...startOf(window),
  };
  const info = await jsm.consumers.add(window.stream, config);
  try {
    let pending = info.num_pending;
    if (pending === 0) return;
    const consumer = await connection.js.consumers.get(window.stream, info.name);
    const batch = window.batch ?? DEFAULT_BATCH;
    const untilMs = window.until?.getTime();
    while (pending > 0) {
      const messages = await consumer.fetch({
        max_messages: Math.min(batch, pending),
        expires: FETCH_EXPIRES_MS,
      });
      let received = 0;
      for await (const msg of messages) {
        received += 1;
        pending = msg.info.pending;
        const storedAtMs = Math.floor(msg.info.timestampNanos / 1e6);
        if (untilMs !== undefined && storedAtMs > untilMs) return;
        yield {
          stream: window.stream,
          seq: msg.info.streamSequence,
          subject: msg.subject,
          storedAt: new Date(storedAtMs),
          headers: msg.headers,
          data: msg.data,
        };
        // The last match: do not wait for the pull to be declared complete.
        if (pending === 0) break;
      }
      if (received === 0) return;
    }
  } finally {
    await jsm.consumers.delete(window.stream, info.name).catch(() => undefined);
  }
}

function startOf(window: StreamWindow): Partial<ConsumerConfig> {
  if (window.fromSeq !== undefined) {
    return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, window.fromSeq) };
  }
  if (window.since !== undefined) {
    return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: window.since.toISOString() };
  }
  return { deliver_policy: DeliverPolicy.All };
}
