import type { z } from 'zod';
import { defineEnvSchema } from '../define-env-schema';
import { integer, oneOf, url } from '../env-parsers';
import { envVar, optionalEnvVar } from '../env-var';
import { LOG_LEVELS } from '../shared-env.schema';
import { httpPortVar } from '../shared-env.schema';

const sessionWorker = defineEnvSchema(
  {
    HTTP_PORT: httpPortVar(3001),
    /** WhatsApp's multi-device endpoint; the WA sandbox's URL in tests and local runs. */
    WA_WS_URL: envVar(url(['ws:', 'wss:']), 'wss://web.whatsapp.com/ws/chat'),
    /**
     * How long a lease outlives its last renewal: the longest a dead worker's sessions stay down
     * (12 s keeps failover after a crash under 15 s, claim and login included).
     */
    LEASE_TTL_MS: envVar(integer(1_000, 600_000), '12000'),
    /**
     * All of a worker's leases are renewed by one statement this often; at 3 s, two renewals land in the
     * 8 s a lease is trusted after the last confirmed one (TTL − a TTL/3 safety margin).
     */
    LEASE_RENEW_MS: envVar(integer(100, 300_000), '3000'),
    /** Sockets one worker holds at most; beyond it, starts are left to other replicas. */
    MAX_SESSIONS: envVar(integer(1, 100_000), '500'),
    /** New connections per second, so a restart with hundreds of sessions is not a login storm. */
    CONNECT_RAMP_PER_SEC: envVar(integer(1, 1_000), '5'),
    /**
     * Connects in progress at once (socket opening, login, the restart after pairing): bounds the CPU
     * and credential writes of a burst when each login slows down under load, which a rate alone does not.
     */
    MAX_CONNECTS_IN_FLIGHT: envVar(integer(1, 1_000), '10'),
    /** Time on SIGTERM to close sockets and release leases; keep below the pod's grace period. */
    SHUTDOWN_HANDOFF_MS: envVar(integer(0, 600_000), '10000'),
    /** QR codes shown per connect attempt before the session stops in `qr_timeout`. */
    QR_MAX_REFS: envVar(integer(1, 100), '6'),
    /** Lifetime of each QR code; unset keeps WhatsApp's 60 s for the first and 20 s for the next ones. */
    QR_TIMEOUT_MS: optionalEnvVar(integer(1_000, 300_000)),
    /** How often the worker heartbeats, looks for unowned sessions and rebalances. */
    PLACEMENT_INTERVAL_MS: envVar(integer(100, 600_000), '2000'),
    /**
     * Keep-alive ping interval of each WhatsApp socket (Baileys' default 30 s). A socket silent for
     * this long plus 5 s is closed with 408, and WhatsApp drops a client that stops pinging.
     */
    WA_KEEPALIVE_MS: envVar(integer(1_000, 300_000), '30000'),
    /**
     * Media messages up to this size are downloaded from WhatsApp and stored for the sync (GHL
     * attachments); larger ones, or all with 0, carry metadata only.
     */
    MEDIA_MAX_BYTES: envVar(integer(0, 1_073_741_824), '26214400'),
    /** Bound on downloading and storing one message's media; a message never waits longer for it. */
    MEDIA_DOWNLOAD_TIMEOUT_MS: envVar(integer(1_000, 600_000), '30000'),
    /** Baileys' own log lines are forwarded at this level and above. */
    BAILEYS_LOG_LEVEL: envVar(oneOf(LOG_LEVELS), 'warn'),
  },
  {
    crossCheck: ({ LEASE_TTL_MS, LEASE_RENEW_MS }, report) => {
      // At most half the TTL leaves room for one failed renewal and a retry before the lease can lapse.
      if (LEASE_TTL_MS !== undefined && LEASE_RENEW_MS !== undefined && LEASE_RENEW_MS >= LEASE_TTL_MS / 2) {
        report('LEASE_RENEW_MS', `must be less than half of LEASE_TTL_MS (${LEASE_TTL_MS / 2})`);
      }
    },
  },
);

export const sessionWorkerConfigSchema = sessionWorker.schema;
export type SessionWorkerConfig = z.output<typeof sessionWorkerConfigSchema>;
export const SESSION_WORKER_ENV_VARS = sessionWorker.vars;
export const SESSION_WORKER_REQUIRED_IN_PRODUCTION = sessionWorker.requiredInProduction;
