// Three tiers (see STYLE.md): unit specs beside the code, integration specs against real NATS and
// Postgres, end-to-end specs against the built apps run as processes. `npm test` runs them all in band.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
const moduleNameMapper = {
  '^@app/(contracts|messaging|persistence|config|observability|testing|core|wa-sandbox-client|ghl-sandbox-client|cryptojs-aes)$': '<rootDir>/libs/$1/src',
  '^@app/(contracts|messaging|persistence|config|observability|testing|core|wa-sandbox-client|ghl-sandbox-client|cryptojs-aes)/(.*)$': '<rootDir>/libs/$1/src/$2',
};
const common = {
  rootDir: __dirname,
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test', '<rootDir>/tools'],
  modulePathIgnorePatterns: ['<rootDir>/dist'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['**/*.integration-spec.ts'], slowTestThreshold: 30 },
    { ...common, displayName: 'e2e', testMatch: ['**/*.e2e-spec.ts'], slowTestThreshold: 60 },
  ],
};
