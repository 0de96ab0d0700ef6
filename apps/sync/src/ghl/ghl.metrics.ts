import { Counter, Histogram, register } from 'prom-client';

// Looked up before created: tests build the app more than once per process, and prom-client refuses
// to register a name twice.
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
) {
  return (
    (register.getSingleMetric(name) as Histogram<L> | undefined) ??
    new Histogram({ name, help, labelNames, buckets })
  );
}

/** What the sync app adds to the bus library's metrics (which already counts dead letters). */
export const ghlMetrics = {
  requests: counter('ghl_requests_total', 'Calls to GHL by endpoint and HTTP status (0: no answer).', [
    'endpoint',
    'status',
  ]),
  duration: histogram(
    'ghl_request_duration_seconds',
    'Time of one GHL call, answer or not.',
    ['endpoint'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  ),
  limiterWaits: counter(
    'ghl_limiter_waits_total',
    'Times a GHL call had to wait for the per-location limiter (the event was retried later).',
    ['reason'],
  ),
  refreshes: counter(
    'ghl_token_refreshes_total',
    'Token refresh attempts by outcome and trigger (expiring, unauthorized, sweep).',
    ['outcome', 'trigger'],
  ),
  sweeps: counter(
    'ghl_token_sweeps_total',
    'Rounds of the idle-token refresh sweep, by outcome (completed, failed).',
    ['outcome'],
  ),
};
