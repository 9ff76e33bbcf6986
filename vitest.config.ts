import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/fakes/**/*.test.ts'],
    // Fails the run when any gateway under test wrote a key, a token or a prompt (test/global-leak-check.ts).
    globalSetup: ['test/global-leak-check.ts'],
    // End-to-end files each start real Envoy/Redis processes; two cores run two files at a time at most.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
