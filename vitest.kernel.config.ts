import { defineConfig } from 'vitest/config'

// Kernel tests over TUN: run by test/kernel/run.mjs inside a fresh network namespace.
export default defineConfig({
  test: {
    include: ['test/kernel/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
