// The dependency rules in .dependency-cruiser.cjs fire: a throwaway tree that breaks each rule once
// (and has one clean file) is cruised with the repository's configuration.
// Run: node --test scripts/dependency-rules.test.mjs (part of `pnpm lint:deps`).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const files = {
  'packages/protocol/src/index.ts': "import { node } from '../../node/src/node.js';\nexport const p = node;\n",
  'packages/node/src/node.ts':
    "import { connect } from 'node:tls';\nimport type { FastifyInstance } from 'fastify';\nexport const node: [typeof connect, FastifyInstance?] = [connect];\n",
  'packages/node/src/a.ts': "import { b } from './b.js';\nexport const a = (): unknown => b;\n",
  'packages/node/src/b.ts': "import { a } from './a.js';\nexport const b = (): unknown => a;\n",
  'packages/http/src/index.ts': "import { node } from '@systemge/node/src/node.js';\nexport const h = node;\n",
  'packages/access/src/index.ts': "import { h } from '../../http/src/clean.js';\nexport const a = h;\n",
  'packages/dashboard-link/src/index.ts': "import { h } from '../../http/src/clean.js';\nexport const l = h;\n",
  'packages/node/src/link.ts': "import { l } from '../../dashboard-link/src/index.js';\nexport const n = l;\n",
  'packages/http/src/clean.ts': "import { h } from './index.js';\nexport const clean = h;\n",
  'packages/discovery-x/src/index.ts': "import { h } from '@systemge/http';\nexport const x = h;\n",
  'packages/discovery-x/src/testing.ts': 'export const startServer = (): number => 0;\n',
  'packages/discovery-x/src/entry.ts': "import { startServer } from './testing.js';\nexport const e = startServer;\n",
  'packages/discovery-x/test/kit.test.ts': "import { startServer } from '../src/testing.js';\nexport const t = startServer;\n",
  'examples/demo/test/demo.test.ts': "import { node } from '../../../packages/node/src/node.js';\nexport const d = node;\n",
};

const expected = [
  ['protocol-imports-nothing-ours', 'packages/protocol/src/index.ts', 'packages/node/src/node.ts'],
  ['no-relative-import-across-packages', 'packages/protocol/src/index.ts', 'packages/node/src/node.ts'],
  ['no-package-internals', 'packages/protocol/src/index.ts', 'packages/node/src/node.ts'],
  ['node-imports-no-transport-or-face', 'packages/node/src/node.ts', 'tls'],
  ['node-imports-no-transport-or-face', 'packages/node/src/node.ts', 'fastify'],
  ['no-cycles-in-package-src', 'packages/node/src/a.ts', 'packages/node/src/b.ts'],
  ['no-unresolvable-systemge-import', 'packages/http/src/index.ts', '@systemge/node/src/node.js'],
  ['no-package-internals', 'packages/http/src/index.ts', '@systemge/node/src/node.js'],
  ['access-imports-only-protocol', 'packages/access/src/index.ts', 'packages/http/src/clean.ts'],
  ['no-relative-import-across-packages', 'packages/access/src/index.ts', 'packages/http/src/clean.ts'],
  ['no-package-internals', 'packages/access/src/index.ts', 'packages/http/src/clean.ts'],
  ['dashboard-link-imports-node-protocol-access', 'packages/dashboard-link/src/index.ts', 'packages/http/src/clean.ts'],
  ['no-relative-import-across-packages', 'packages/dashboard-link/src/index.ts', 'packages/http/src/clean.ts'],
  ['no-package-internals', 'packages/dashboard-link/src/index.ts', 'packages/http/src/clean.ts'],
  ['node-imports-no-transport-or-face', 'packages/node/src/link.ts', 'packages/dashboard-link/src/index.ts'],
  ['no-relative-import-across-packages', 'packages/node/src/link.ts', 'packages/dashboard-link/src/index.ts'],
  ['no-package-internals', 'packages/node/src/link.ts', 'packages/dashboard-link/src/index.ts'],
  ['discovery-imports-node-and-protocol-only', 'packages/discovery-x/src/index.ts', '@systemge/http'],
  ['no-unresolvable-systemge-import', 'packages/discovery-x/src/index.ts', '@systemge/http'],
  ['test-kits-stay-out-of-package-sources', 'packages/discovery-x/src/entry.ts', 'packages/discovery-x/src/testing.ts'],
  ['examples-and-bench-import-packages-by-name', 'examples/demo/test/demo.test.ts', 'packages/node/src/node.ts'],
  ['no-package-internals', 'examples/demo/test/demo.test.ts', 'packages/node/src/node.ts'],
];

test('each dependency rule reports its violation, and only those', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dependency-rules-'));
  try {
    copyFileSync(join(root, 'tsconfig.base.json'), join(dir, 'tsconfig.base.json'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    let output;
    try {
      output = execFileSync(
        join(root, 'node_modules/.bin/depcruise'),
        ['packages', 'examples', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'json'],
        { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
    } catch (error) {
      // depcruise exits with the number of errors; the JSON report is still on stdout.
      output = error.stdout;
    }
    const found = JSON.parse(output).summary.violations.map((v) => [v.rule.name, v.from, v.to]);
    const key = (v) => v.join(' | ');
    const foundKeys = new Set(found.map(key));
    for (const violation of expected) assert.ok(foundKeys.has(key(violation)), `not reported: ${key(violation)}`);
    const unexpected = found.filter((v) => !expected.some((e) => key(e) === key(v)) && v[0] !== 'no-cycles-in-package-src');
    assert.deepEqual(unexpected, [], 'reported but not planted');
    assert.ok(!found.some((v) => v[1] === 'packages/http/src/clean.ts'), 'the clean file was reported');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
