import { Counter, Gauge, Histogram } from 'prom-client';

/**
 * Session-worker metrics, created once per process (prom-client's default registry, scraped at
 * /metrics). Names are documented in the README's metrics table.
 */
let stateSource: () => Iterable<string> = () => [];

/** Tells the `wa_sessions` gauge where to read the states of the owned sessions at scrape time. */
export function setSessionStateSource(source: () => Iterable<string>): void {
  stateSource = source;
}

export const sessionMetrics = {
  sessionsByState: new Gauge({
    name: 'wa_sessions',
    help: 'Sessions owned by this worker, by state.',
    labelNames: ['state'] as const,
    collect() {
      this.reset();
      for (const state of stateSource()) this.inc({ state });
    },
  }),
  owned: new Gauge({ name: 'wa_sessions_owned', help: 'Sessions whose lease this worker holds.' }),
  leaseRenewFailures: new Counter({
    name: 'wa_lease_renew_failures_total',
    help: 'Leases this worker lost or could not confirm in time (the socket was closed first).',
  }),
  reconnects: new Counter({
    name: 'wa_reconnects_total',
    help: 'Reconnects scheduled after a disconnect, by WhatsApp close code.',
    labelNames: ['code'] as const,
  }),
  disconnects: new Counter({
    name: 'wa_disconnects_total',
    help: 'Socket closes reported by WhatsApp, by code and the decision taken.',
    labelNames: ['code', 'action'] as const,
  }),
  conflicts: new Counter({
    name: 'wa_conflicts_total',
    help: '440 conflict closes while this worker held the lease (should stay 0).',
  }),
  qrEmitted: new Counter({ name: 'wa_qr_emitted_total', help: 'QR codes published.' }),
  timeToFirstQr: new Histogram({
    name: 'wa_time_to_first_qr_seconds',
    help: 'From connect to the first QR of an unlinked session.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
  }),
  timeToOpen: new Histogram({
    name: 'wa_time_to_open_seconds',
    help: 'From connect to an open connection of a linked session.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  }),
  connectQueue: new Gauge({ name: 'wa_connect_queue_length', help: 'Connects waiting for the ramp.' }),
  connectsInFlight: new Gauge({
    name: 'wa_connects_in_flight',
    help: 'Connects in progress (opening, logging in or pairing), bounded by MAX_CONNECTS_IN_FLIGHT.',
  }),
  leaseRenewalErrors: new Counter({
    name: 'wa_lease_renewal_errors_total',
    help: 'Lease renewal requests that failed (retried; every lease is renewed by one request).',
  }),
};
