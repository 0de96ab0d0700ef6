// Baileys-free on purpose: Jest loads this library. The trust preload (trust-preload.ts) imports Baileys
// and is therefore not exported here; it is used only as `node -r`.
export * from './admin-api';
export * from './wa-sandbox-admin.client';
export * from './driver-protocol';
export * from './baileys-driver.process';
export * from './sandbox.process';
export * from './eventually';
export * from './repo-paths';
