export * from './core.module';
export * from './shared-runtime-config';
export * from './keyed-mutex';
