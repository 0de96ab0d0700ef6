/** Injection tokens of the session worker's own providers. */
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
export const WORKER_LOGGER = Symbol('WORKER_LOGGER');
/** The small pool lease renewals run on, apart from the app's main pool. */
export const LEASE_RENEWAL_DATA_SOURCE = Symbol('LEASE_RENEWAL_DATA_SOURCE');
