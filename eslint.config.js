/**
 * Lint, including the architecture's rules (see README, "Architecture"):
 *
 *   schemas  ←  operators  ←  pipeline (adapters, stages, cli)  →  deploy, dashboards
 *
 * Dependencies point one way and a back-edge fails the lint; `operators/` is pure (no I/O,
 * no clock, no process), which is what makes its results replayable. `lint-rules.test.ts`
 * shows both rules failing on a deliberate violation.
 */
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Who may not be imported from where: `target` files may not import from `from`. */
const layers = [
  {
    target: './schemas',
    from: ['./operators', './pipeline', './dashboards', './deploy'],
    message: 'schemas/ is the root of the dependency graph: it imports nothing of Pulso.',
  },
  {
    target: './operators',
    from: ['./pipeline', './dashboards', './deploy'],
    message: 'operators/ depends on schemas/ only (the pipeline composes them, not the reverse).',
  },
  {
    target: './deploy',
    from: ['./pipeline', './operators', './dashboards'],
    message: 'deploy/ depends on nothing of Pulso: the pipeline uses the service scripts.',
  },
  {
    target: './dashboards',
    from: ['./pipeline', './operators', './deploy'],
    message: 'dashboards/ are generated from the schemas and QuestDB tables, not the pipeline.',
  },
];

/** Production code imports no test code (tests themselves may use the fixtures). */
const noTests = ['./schemas', './operators', './pipeline', './deploy', './dashboards'].map(
  (target) => ({
    target,
    from: ['./test'],
    message: 'production code does not import tests or their fixtures.',
  }),
);

/** Modules that do I/O or read the clock: forbidden in the pure operators. */
const IO_MODULES = [
  'node:*',
  'fs',
  'fs/*',
  'net',
  'http',
  'https',
  'child_process',
  'worker_threads',
  'os',
  'nats',
  'pg',
  '@questdb/*',
  'fastify',
  'pino',
  'prom-client',
  'apache-arrow',
];

export const purity = {
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          group: IO_MODULES,
          message: 'operators/ is pure: I/O belongs to pipeline/ (adapters, stages).',
        },
      ],
    },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'operators/ reads no clock: pass time in.' },
    {
      object: 'performance',
      property: 'now',
      message: 'operators/ reads no clock: time stages in pipeline/.',
    },
  ],
  'no-restricted-globals': [
    'error',
    ...['process', 'Buffer', 'performance', 'fetch', 'require'].map((name) => ({
      name,
      message: `operators/ is pure: no ${name} (it belongs to pipeline/).`,
    })),
    ...['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask'].map((name) => ({
      name,
      message: `operators/ schedules nothing: the engine owns the loop (no ${name}).`,
    })),
  ],
  'no-restricted-syntax': [
    'error',
    {
      selector: "NewExpression[callee.name='Date'][arguments.length=0]",
      message: 'operators/ reads no clock: `new Date()` is the current time; pass time in.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.pulso/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // Resolves `./x.js` to `./x.ts` as TypeScript does, so the layer rule sees every edge.
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: './tsconfig.test.json' }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      'import-x/no-restricted-paths': ['error', { zones: layers }],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts', 'test/**'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: [...layers, ...noTests] }] },
  },
  {
    // Generated from the schemas: an open object there is `{}`, as the schema says.
    files: ['schemas/generated/**/*.ts'],
    rules: { '@typescript-eslint/no-empty-object-type': 'off' },
  },
  {
    files: ['operators/**/*.ts'],
    ignores: ['operators/**/*.test.ts'],
    rules: purity,
  },
);
