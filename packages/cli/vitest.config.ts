import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // Several tests run the real `systemge` command in child processes; on a busy machine one start takes seconds.
      testTimeout: 60_000,
    },
  }),
);
