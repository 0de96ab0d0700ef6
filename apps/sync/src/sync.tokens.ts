/** Injection tokens of the sync app's own providers. */
export const SYNC_CONFIG = Symbol('SYNC_CONFIG');
export const SYNC_LOGGER = Symbol('SYNC_LOGGER');
