#!/usr/bin/env node
// Lints every published package as it would be published: packs it with pnpm, then checks the
// tarball with publint (warnings count as errors), arethetypeswrong (ESM-only profile: we publish
// no CommonJS) and the house rules below. Exits 1 on any finding.
//
//   node scripts/lint-packages.mjs                      every package under packages/
//   node scripts/lint-packages.mjs @systemge/node ...   only these
//
// Build first (`pnpm build`); `pnpm lint:packages` does both.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { packPackage, publishedPackages, root } from './package-tarballs.mjs';

const only = process.argv.slice(2);
const packages = publishedPackages().filter((pkg) => only.length === 0 || only.includes(pkg.name));
const unknown = only.filter((name) => !packages.some((pkg) => pkg.name === name));
if (unknown.length > 0) {
  console.error(`unknown package(s): ${unknown.join(', ')}`);
  process.exit(1);
}

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
const attw = join(root, 'node_modules/.bin/attw');
const work = mkdtempSync(join(tmpdir(), 'systemge-lint-'));
let failed = 0;

try {
  for (const pkg of packages) {
    const problems = [];
    if (!pkg.built) {
      problems.push(`not built: ${pkg.manifest.exports?.['.']?.default ?? 'dist/index.js'} is missing (run \`pnpm build\`)`);
    } else {
      const { tarball, files } = packPackage(pkg, work);
      const packed = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
      problems.push(...houseRules(pkg, packed, files, tarball));
      problems.push(...(await publintProblems(tarball, packed)));
      problems.push(...attwProblems(tarball));
    }
    if (problems.length === 0) {
      console.log(`✔ ${pkg.name}`);
    } else {
      failed++;
      console.log(`✖ ${pkg.name}\n${problems.map((problem) => `    - ${problem.replaceAll('\n', '\n      ')}`).join('\n')}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (failed > 0) {
  console.error(`\n${failed} of ${packages.length} package(s) are not publishable as they stand.`);
  process.exit(1);
}
console.log(`\nall ${packages.length} packages pass publint, arethetypeswrong (esm-only) and the package rules.`);

/** What a package of this repository must look like once packed. */
function houseRules(pkg, packed, files, tarball) {
  const problems = [];
  const expect = (ok, message) => ok || problems.push(message);

  const dependencyFields = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'];
  for (const field of dependencyFields) {
    for (const [name, range] of Object.entries(packed[field] ?? {})) {
      expect(!String(range).startsWith('workspace:'), `${field}.${name} is still "${range}" in the packed package.json`);
    }
  }
  for (const field of ['dependencies', 'peerDependencies']) {
    for (const [name, range] of Object.entries(pkg.manifest[field] ?? {})) {
      if (name.startsWith('@systemge/')) expect(range === 'workspace:^', `${field}.${name} must be "workspace:^", is "${range}"`);
    }
  }

  expect(packed.type === 'module', '"type" must be "module"');
  expect(packed.license === 'MIT', '"license" must be "MIT"');
  expect(packed.sideEffects === false, '"sideEffects" must be false');
  expect(
    packed.engines?.node === rootManifest.engines.node,
    `"engines.node" must be "${rootManifest.engines.node}" like the root package.json, is ${JSON.stringify(packed.engines?.node)}`,
  );
  expect(Array.isArray(packed.keywords) && packed.keywords.includes('systemge'), '"keywords" must include "systemge"');
  expect(
    packed.repository?.url?.length > 0 && packed.repository?.directory === `packages/${pkg.folder}`,
    `"repository" must have a url and "directory": "packages/${pkg.folder}"`,
  );
  expect(typeof packed.description === 'string' && packed.description.length > 0, '"description" is missing');
  const main = packed.exports?.['.'];
  expect(
    main !== undefined && typeof main === 'object' && Object.keys(main)[0] === 'types',
    '"exports"["."] must be a conditions object with "types" first',
  );

  for (const required of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) {
    expect(files.includes(required), `${required} is not in the tarball`);
  }
  if (files.includes('LICENSE')) {
    const shipped = execFileSync('tar', ['-xzOf', tarball, 'package/LICENSE'], { encoding: 'utf8' });
    expect(shipped === license, `LICENSE differs from the root LICENSE (copy it: cp LICENSE packages/${pkg.folder}/)`);
  }
  // Build info, tests, TypeScript sources and tool configs never ship; declared assets (a JSON schema…) may.
  const stray = files.filter((file) =>
    /\.tsbuildinfo$|(^|\/)(test|tests|__tests__|fixtures|coverage|\.turbo)\/|\.(test|spec)\.[cm]?[jt]s|(^|\/)tsconfig[^/]*\.json$|(^|\/)vitest\.config\.|^src\/|(?<!\.d)\.[cm]?ts$/.test(
      file,
    ),
  );
  expect(stray.length === 0, `the tarball ships files that never should: ${stray.join(', ')}`);
  expect(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), 'dist/index.js or dist/index.d.ts is not in the tarball');

  const readme = files.includes('README.md') ? execFileSync('tar', ['-xzOf', tarball, 'package/README.md'], { encoding: 'utf8' }) : '';
  expect(
    new RegExp(`(npm install|pnpm add)[^\\n]*${packed.name.replace('/', '\\/')}`).test(readme),
    `README.md has no install line for ${packed.name}`,
  );
  // A library shows a TypeScript snippet; a package with a command may show a shell one instead.
  const snippet = packed.bin !== undefined ? /```(ts|sh)\n/ : /```ts\n/;
  expect(snippet.test(readme), `README.md has no ${packed.bin !== undefined ? '```ts or ```sh' : '```ts'} snippet`);
  return problems;
}

async function publintProblems(tarball, packed) {
  const buffer = readFileSync(tarball);
  const { messages } = await publint({
    pack: { tarball: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) },
    level: 'warning',
    strict: true,
  });
  return messages.map((message) => `publint ${message.code}: ${formatMessage(message, packed, { color: false })}`);
}

function attwProblems(tarball) {
  try {
    execFileSync(attw, [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-color', '--no-emoji'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return [];
  } catch (error) {
    return [`arethetypeswrong (esm-only):\n${`${error.stdout ?? ''}${error.stderr ?? ''}`.trim()}`];
  }
}
