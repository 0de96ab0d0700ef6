import { Counter, Histogram, register } from 'prom-client';

/**
 * Bus metrics live on prom-client's default registry, created once per module instance. A process
 * may build many runners (and tests many more), so each metric is looked up before it is created:
 * registering a name twice throws.
 */
function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return (
    (register.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames })
  );
}

function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): Histogram<L> {
  return (
    (register.getSingleMetric(name) as Histogram<L> | undefined) ??
    new Histogram({ name, help, labelNames, buckets })
  );
}

export const busMetrics = {
  handled: counter('bus_messages_handled_total', 'Deliveries settled by a consumer, by outcome.', [
    'consumer',
    'outcome',
  ]),
  handlerDuration: histogram(
    'bus_handler_duration_seconds',
    'Time a consumer handler took for one delivery.',
    ['consumer'],
    // From sub-millisecond local work up to slow GHL calls under rate limiting.
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  ),
  published: counter('bus_published_total', 'Events stored by JetStream (including de-duplicated repeats).', [
    'type',
  ]),
  publishFailures: counter(
    'bus_publish_failures_total',
    'Event publishes that did not get a JetStream ack.',
    ['type', 'reason'],
  ),
  deadLetters: counter('bus_dead_letters_total', 'Messages copied to the dead-letter stream.', [
    'consumer',
    'kind',
  ]),
  consumerRestarts: counter(
    'bus_consumer_restarts_total',
    'Times a consumer had to re-open its pull subscription after it ended or failed.',
    ['consumer'],
  ),
};
