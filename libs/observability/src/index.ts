export * from './correlation';
export * from './logger';
export * from './nest-logger';
export * from './metrics';
export * from './health';
export * from './observability.module';
export * from './request-context.middleware';
export * from './bootstrap';
