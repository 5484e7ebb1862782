#!/usr/bin/env node
// `systemge` inside this repository: runs the CLI from its TypeScript sources, so it works right
// after `pnpm install` with nothing built. The published package's `systemge` is `dist/bin.js`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

register('../../../scripts/source/hooks.mjs', import.meta.url);
// `start` may serve the dashboard: bundle its browser UI once if it never was (under a second).
if (process.argv[2] === 'start' && !existsSync(new URL('../../dashboard/dist/ui/index.html', import.meta.url))) {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../dashboard/scripts/build-ui.mjs', import.meta.url)), '--quiet'], {
    stdio: 'inherit',
  });
}
await import('../src/bin.ts');
