/** Three tiers, told apart by file name: unit specs (`*.spec.ts`) beside the code in src/; integration
 *  (`*.int-spec.ts`, one module) and end-to-end (`*.e2e-spec.ts`, the whole service) tests under test/,
 *  against the real Kafka broker and PostgreSQL. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.check.json' }];
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The workspace library from its source, so tests need no build of it first.
  moduleNameMapper: {
    '^@hookstream/publisher$': '<rootDir>/packages/publisher/src/index.ts',
    '^@hookstream/publisher/(.*)$': '<rootDir>/packages/publisher/src/$1',
  },
};

module.exports = {
  // Only integration and e2e tests get near this: they wait on Kafka and PostgreSQL with deadlines.
  testTimeout: 180000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/packages/*/src/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.int-spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
    },
  ],
};
