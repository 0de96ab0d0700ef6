import type { SessionWorkerConfig } from '@app/config';

/** After the hand-off, consumers settle and the NATS connection drains; this bounds that part. */
export const BUS_DRAIN_MS = 10_000;

/**
 * How long the worker allows itself to stop on SIGTERM: the session hand-off (close every socket,
 * release every lease) plus the bus drain. Past it the process exits 1. The pod's grace period must be
 * longer (k8s/base/session-worker/deployment.yaml; test/deploy checks it), or the kubelet kills the
 * process mid hand-off and its sessions wait for their leases to expire.
 */
export function shutdownTimeoutMs(config: Pick<SessionWorkerConfig, 'SHUTDOWN_HANDOFF_MS'>): number {
  return config.SHUTDOWN_HANDOFF_MS + BUS_DRAIN_MS;
}
