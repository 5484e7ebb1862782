import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, main } from '../src/index.js';
import { testIO } from './io.js';

// The full path (pack, npm install, the project's own npm test) is scripts/scaffold-test.mjs.
describe('systemge init', () => {
  it('writes a node, a config file, a test and a README that validate', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'systemge-init-')), 'My App');
    const io = testIO();
    expect(await main(['init', dir, '--no-install'], io)).toBe(0);
    for (const file of ['package.json', 'systemge.yaml', 'src/greeter.js', 'src/client.js', 'test/nodes.test.js', 'README.md']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(manifest.name).toBe('my-app');
    expect(manifest.scripts).toEqual({ start: 'systemge start systemge.yaml', test: 'node --test test/' });
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(['@systemge/cli', '@systemge/node']);
    const loaded = loadConfigFile(join(dir, 'systemge.yaml'), {});
    expect(loaded.config.nodes.map((n) => [n.name, n.commands?.remote])).toEqual([
      ['greeter', true],
      ['client', true],
    ]);
    expect(io.stdout.at(-1)).toBe(`next: cd ${dir} && npm install && npm test`);
  });

  it('refuses a folder that is not empty, and tarballs without the CLI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'systemge-init-'));
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const io = testIO();
    expect(await main(['init', dir, '--no-install'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/exists and is not an empty folder/);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('mine');

    const empty = join(dir, 'tarballs');
    mkdirSync(empty);
    const io2 = testIO();
    expect(await main(['init', join(dir, 'new'), '--from-tarballs', empty], io2)).toBe(2);
    expect(io2.stderr.join('\n')).toMatch(/no @systemge\/cli tarball in/);
    expect(existsSync(join(dir, 'new'))).toBe(false);
  });
});
