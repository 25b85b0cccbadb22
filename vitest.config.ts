import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Integration tests start dynalite and child processes; keep the 2-core machines unloaded.
    maxWorkers: 2,
  },
});
