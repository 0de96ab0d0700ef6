import { InitialSchema1763726400000 } from './1763726400000-initial-schema.migration';
import { SyncGhlState1764547200000 } from './1764547200000-sync-ghl-state.migration';
import { LeaseHoldingKey1764633600000 } from './1764633600000-lease-holding-key.migration';

/**
 * Every migration, oldest first. Listed rather than globbed so the same list works from ts sources
 * under Jest and from compiled dist; `migrate generate` reminds you to add new files here, and the
 * integration test fails if a file in this folder is missing from the list.
 */
export const MIGRATIONS = [
  InitialSchema1763726400000,
  SyncGhlState1764547200000,
  LeaseHoldingKey1764633600000,
];
