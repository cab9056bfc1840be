import { defineConfig } from 'vitest/config';

/** `npm run test:realworld`: the corpus of files made by third-party tools (test/realworld/). */
export default defineConfig({
  test: {
    include: ['test/realworld/**/*.test.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
