export * from './core.module';
export * from './shared-runtime-config';
