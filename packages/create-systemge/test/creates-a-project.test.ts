import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// From its sources through the workspace loader, so the test needs no build (published: dist/bin.js).
const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const LOADER = fileURLToPath(new URL('../../../scripts/source/register.mjs', import.meta.url));

// Installing and running the project's own test is scripts/scaffold-test.mjs (pnpm test:scaffold).
describe('create-systemge', () => {
  it('writes the project systemge init writes', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'create-systemge-')), 'my-app');
    const result = spawnSync(process.execPath, ['--import', LOADER, BIN, dir, '--no-install'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`systemge: created ${dir}`);
    for (const file of ['package.json', 'systemge.yaml', 'src/greeter.js', 'src/client.js', 'test/nodes.test.js', 'README.md']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toMatchObject({
      name: 'my-app',
      scripts: { test: 'node --test test/' },
    });
  });

  it('explains itself without a folder', () => {
    const result = spawnSync(process.execPath, ['--import', LOADER, BIN], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/usage: systemge init <dir>/);
  });
});
