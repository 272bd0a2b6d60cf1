import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'main/**/*.test.ts',
      'renderer/**/*.test.ts',
      'e2e/platform/**/*.test.ts',
      'e2e/integration/**/*.test.ts',
      'e2e/packaging/**/*.test.ts',
      'e2e/desktop/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // integration tests spawn agents and child processes; two cores here
    maxWorkers: 2,
    reporters: ['default'],
  },
});
