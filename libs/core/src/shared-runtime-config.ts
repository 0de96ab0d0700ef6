/** The part of every app's config that the core wiring needs (see `sharedEnvShape` in libs/config). */
export interface SharedRuntimeConfig {
  NATS_URL: string[];
  DATABASE_URL: string;
  INSTANCE_ID: string;
  EVENTS_MAX_AGE: number;
  DLQ_MAX_AGE: number;
}
