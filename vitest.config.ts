import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // INV-IBKR-MOCK-1: no test can open a connection to anything but loopback.
    setupFiles: ['test/support/no-external-network.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
