import { defineConfig } from 'vitest/config'

// In-memory tests: virtual time, no TUN, no root.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/kernel/**', 'node_modules/**'],
  },
})
