export * from './ids';
export * from './envelope';
export * from './events';
export * from './commands';
export * from './subjects';
export * from './replay';
