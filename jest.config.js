/** Three tiers, told apart by name (CONVENTIONS.md): unit specs beside the code, integration and
 *  end-to-end tests under test/ against the real Kafka broker and PostgreSQL. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.check.json' }];
const common = { testEnvironment: 'node', transform: { '^.+\\.ts$': tsJest }, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // Only integration and e2e tests get near this: they wait on Kafka and PostgreSQL with deadlines.
  testTimeout: 180000,
  projects: [
    { ...common, displayName: 'unit', rootDir: '.', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
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
