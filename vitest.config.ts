import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['suites/**/*.test.ts'],
    testTimeout: 30_000,
    // The fault-injection suite's ledger and the totals it prints at the end.
    globalSetup: ['suites/faults/global-teardown.ts'],
  },
});
