// Shared by every package's vitest.config.ts: tests run the workspace packages from their sources.
// `@systemge/*` imports resolve through the `@systemge/source` export condition to `src/index.ts`
// (no build needed after `pnpm install`), and child processes started by a test (CLI, example,
// remote node) load the same sources through scripts/source/register.mjs.
import { pathToFileURL } from 'node:url';
import { defineConfig } from 'vitest/config';

const conditions = ['@systemge/source', 'module', 'node', 'development|production'];
const register = pathToFileURL(new URL('./scripts/source/register.mjs', import.meta.url).pathname).href;

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    env: { NODE_OPTIONS: [process.env['NODE_OPTIONS'], `--import=${register}`].filter(Boolean).join(' ') },
  },
});
