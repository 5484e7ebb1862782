import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const example = readFileSync(fileURLToPath(new URL('./readme-example.ts', import.meta.url)), 'utf8');

describe('README', () => {
  it('shows test/readme-example.ts (importing the package by name), so the snippet is type-checked', () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(example.replace("from '../src/index.js'", "from '@systemge/metrics'"));
  });

  it('runs the snippet', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await import('./readme-example.js');
      const printed = log.mock.calls.map((args) => String(args[0]));
      expect(printed).toEqual(['systemge_messages_received_total{node="alpha",kind="async"} 1', 'true']);
    } finally {
      log.mockRestore();
    }
  });
});
