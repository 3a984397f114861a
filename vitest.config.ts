import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests each start their own sshd and tmux server; two cores are enough for two at once.
    maxWorkers: 2,
  },
})
