import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'pipeline/**/*.test.ts',
            'operators/**/*.test.ts',
            'schemas/**/*.test.ts',
            'deploy/**/*.test.ts',
            'dashboards/**/*.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One NATS and one QuestDB for the whole run, started by the project's own code.
          globalSetup: ['test/support/global-services.ts'],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
