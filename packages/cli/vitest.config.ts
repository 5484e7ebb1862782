import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Several tests run the real `systemge` command in child processes; on a busy machine one start takes seconds.
    testTimeout: 60_000,
  },
});
