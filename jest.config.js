/** Three tiers, told apart by name (CONVENTIONS.md): unit specs beside the code, integration and
 *  end-to-end tests under test/ against the real Kafka broker and PostgreSQL. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.check.json', isolatedModules: true }];
const common = { testEnvironment: 'node', transform: { '^.+\\.ts$': tsJest }, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: '.', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.int-spec.ts'],
      testTimeout: 120000,
    },
    {
      ...common,
      displayName: 'e2e',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testTimeout: 180000,
    },
  ],
};
