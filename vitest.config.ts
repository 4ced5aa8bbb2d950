import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // integration tests start real processes; keep files sequential on a 2-core machine
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default'],
  },
});
