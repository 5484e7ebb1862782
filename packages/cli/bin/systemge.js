#!/usr/bin/env node
// `systemge` inside this repository: runs the CLI from its TypeScript sources, so it works right
// after `pnpm install` with nothing built. The published package's `systemge` is `dist/bin.js`.
import { register } from 'node:module';

register('../../../scripts/source/hooks.mjs', import.meta.url);
await import('../src/bin.ts');
