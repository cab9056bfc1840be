import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-world corpus runs on its own (npm run test:realworld; .ci/run runs both).
    exclude: ['test/realworld/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    // GitHub's workflow parser imports its JSON schema without an import attribute, which Node 20
    // refuses; let vite transform it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
