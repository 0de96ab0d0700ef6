export * from './cryptojs-aes';
