import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (path: string): string => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');

describe('README', () => {
  it('shows test/readme-manual-discovery.test.ts (importing the package by name) under "Testing with a manual discovery", so the snippet is type-checked and run', () => {
    const readme = read('../README.md');
    const at = readme.indexOf('### Testing with a manual discovery');
    expect(at).toBeGreaterThan(0);
    const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
    expect(block).toBe(read('./readme-manual-discovery.test.ts').replace("from '../src/index.js'", "from '@systemge/node'"));
  });
});
