// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The floors of src/, lowest first (README Section A). A folder may import its own files and the
 * folders listed before it, never one after it; app.ts, app.module.ts and main.ts, on the roof,
 * may import any. The ground floor, domain/, is plain TypeScript: no framework, client or
 * database package. Only kafka/ may import the Kafka client.
 */
const FLOORS = [
  'domain', // pure: wire formats, policies, algorithms
  'config', // shared infrastructure
  'common',
  'kafka', // ports to the outside
  'database',
  'cluster', // this process among the replicas
  'tenants', // features, each above the ones it uses
  'catalogue', // the platform's event types and their payload schemas
  'endpoints',
  'retry',
  'delivery',
  'event-log', // the events feed's table, written behind the fan-out
  'fanout',
  'ingest',
  'replay',
  'dead-letters',
  'events', // GET /v1/events: reads the feed, the attempt log, held, parked and dead letters
  'portal', // the tenant portal page and its endpoint stats
  'ops',
  'demo',
];
const IMPURE_PACKAGES = [
  '@nestjs/*',
  'kafkajs',
  'typeorm',
  'pg',
  'undici',
  'prom-client',
  'pino',
  'rxjs',
  'class-validator',
  'class-transformer',
];

function floorRules(folder, index) {
  const above = FLOORS.slice(index + 1);
  const patterns = [];
  const below = FLOORS.slice(0, index);
  if (above.length > 0) {
    patterns.push({
      regex: `^(\\.\\./)+(${above.join('|')})(/|$)`,
      message:
        below.length > 0
          ? `floors: src/${folder}/ may import only itself and the floors below it (src/{${below.join(',')}}/).`
          : `floors: src/${folder}/ is the ground floor; it imports nothing else in src/.`,
    });
  }
  const kafkaClient = {
    group: ['kafkajs', 'kafkajs/*'],
    message: 'floors: only src/kafka/ may import the Kafka client.',
  };
  const pure = {
    group: IMPURE_PACKAGES,
    message: 'floors: src/domain/ is plain TypeScript (no framework, Kafka client or database package).',
  };
  const rules = (extra) => ({ 'no-restricted-imports': ['error', { patterns: [...patterns, ...extra] }] });
  const configs = [
    { files: [`src/${folder}/**/*.ts`], rules: rules(folder === 'kafka' ? [] : [kafkaClient]) },
  ];
  // The domain's own code is pure; its specs may build real client errors to classify (undici).
  if (folder === 'domain') {
    configs.push({
      files: ['src/domain/**/*.ts'],
      ignores: ['src/domain/**/*.spec.ts'],
      rules: rules([pure]),
    });
  }
  return configs;
}

export default tseslint.config(
  { ignores: ['dist/**', 'packages/*/dist/**', 'node_modules/**', 'coverage/**', '.infra/**', 'src/ops/dashboard/public/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  ...FLOORS.flatMap(floorRules),
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Tests read JSON bodies whose shape the assertions check.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
