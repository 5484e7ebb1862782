#!/usr/bin/env node
// Installs the packed packages into throw-away projects outside the workspace, the way a user
// would with npm, then type-checks (strict, NodeNext) and runs a program against the public API.
//
//   node scripts/consumer-test.mjs                  every consumer; skips one whose packages are not built
//   node scripts/consumer-test.mjs --only dashboard one consumer
//   node scripts/consumer-test.mjs --require-all    a consumer that cannot run is a failure, not a skip
//   node scripts/consumer-test.mjs --keep           keep the temporary projects for inspection
//
// Build first (`pnpm build`); `pnpm test:consumer` does both.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { internalDependencies, packPackage, publishedPackages, root } from './package-tarballs.mjs';

const consumers = [
  {
    name: 'tcp-sync',
    what: 'two nodes over TCP, one sync request',
    install: ['@systemge/node', '@systemge/transport-tcp'],
    // A TCP-only user must not pull in the HTTP/WebSocket stack.
    forbidden: [
      'fastify',
      'ws',
      '@fastify/websocket',
      '@systemge/http',
      '@systemge/websocket',
      '@systemge/dashboard',
      '@systemge/dashboard-link',
    ],
    // The first ```ts block of these READMEs is type-checked; `run: true` ones are executed too.
    readmes: [
      { file: 'README.md', run: false },
      { file: 'packages/node/README.md', run: true },
      { file: 'packages/transport-tcp/README.md', run: true },
      { file: 'packages/protocol/README.md', run: true },
    ],
  },
  {
    name: 'dashboard',
    what: 'a node with a WebSocket face on a dashboard; fetches the page and /api/nodes',
    install: ['@systemge/node', '@systemge/websocket', '@systemge/dashboard'],
    forbidden: [],
    readmes: [],
  },
];

let work;
const { values: flags } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    'require-all': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const selected = consumers.filter((consumer) => !flags.only || flags.only.includes(consumer.name));
if (selected.length === 0) fail(`no consumer named ${flags.only}; known: ${consumers.map((c) => c.name).join(', ')}`);

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const typescriptVersion = JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')).version;
const typesNodeRange = rootManifest.devDependencies['@types/node'];

const packages = new Map(publishedPackages().map((pkg) => [pkg.name, pkg]));
work = mkdtempSync(join(tmpdir(), 'systemge-consumers-'));
const tarballs = new Map();
const results = [];

try {
  for (const consumer of selected) {
    const started = performance.now();
    const needed = closure(consumer.install);
    const missing = needed.filter((name) => !packages.get(name)?.built);
    if (missing.length > 0) {
      const why = missing.map((name) => (packages.has(name) ? `${name} is not built` : `${name} does not exist in packages/`)).join('; ');
      const message = `consumer "${consumer.name}" skipped: ${why}. It runs as soon as the packages are built; run it alone with \`pnpm test:consumer --only ${consumer.name}\`.`;
      if (flags['require-all']) fail(message);
      console.log(`\n⚠ ${message}`);
      results.push({ name: consumer.name, status: 'skipped' });
      continue;
    }
    console.log(`\n▶ consumer "${consumer.name}": ${consumer.what}\n  installs ${needed.join(', ')}`);
    runConsumer(consumer, needed);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`✔ consumer "${consumer.name}" passed in ${seconds} s`);
    results.push({ name: consumer.name, status: 'passed', seconds });
  }
} finally {
  if (flags.keep) console.log(`\nkept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

console.log(`\n${results.map((r) => `${r.name}: ${r.status}${r.seconds ? ` (${r.seconds} s)` : ''}`).join('\n')}`);

/** The requested packages plus every `@systemge/*` package they need, transitively. */
function closure(names) {
  const out = new Set();
  const visit = (name) => {
    if (out.has(name)) return;
    out.add(name);
    const pkg = packages.get(name);
    if (pkg) internalDependencies(pkg.manifest).forEach(visit);
  };
  names.forEach(visit);
  return [...out].sort();
}

function tarballOf(name) {
  if (!tarballs.has(name)) {
    const destination = join(work, 'tarballs');
    mkdirSync(destination, { recursive: true });
    tarballs.set(name, packPackage(packages.get(name), destination).tarball);
  }
  return tarballs.get(name);
}

function runConsumer(consumer, needed) {
  const project = join(work, consumer.name);
  mkdirSync(join(project, 'src'), { recursive: true });

  // Every internal package comes from its tarball, for direct and nested requests alike.
  const dependencies = Object.fromEntries(needed.map((name) => [name, `file:${tarballOf(name)}`]));
  const overrides = Object.fromEntries(needed.map((name) => [name, `$${name}`]));
  writeJSON(join(project, 'package.json'), {
    name: `systemge-consumer-${consumer.name}`,
    private: true,
    type: 'module',
    dependencies: { ...dependencies, typescript: typescriptVersion, '@types/node': typesNodeRange },
    overrides,
  });
  writeJSON(join(project, 'tsconfig.json'), {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noUncheckedIndexedAccess: true,
      // The published .d.ts files are part of what is tested.
      skipLibCheck: false,
      types: ['node'],
      noEmitOnError: true,
      rootDir: 'src',
      outDir: 'dist',
    },
    include: ['src'],
  });

  cpSync(join(root, 'scripts/consumers', consumer.name, 'main.ts'), join(project, 'src/main.ts'));
  const programs = ['main.js'];
  for (const readme of consumer.readmes) {
    const snippet = firstTypeScriptBlock(join(root, readme.file));
    const file = `readme-${readme.file === 'README.md' ? 'root' : basename(join(readme.file, '..'))}`;
    writeFileSync(join(project, 'src', `${file}.ts`), `${snippet}\nexport {};\n`);
    if (readme.run) programs.push(`${file}.js`);
  }

  step('npm install', 'npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], project);
  // One pass: a type error fails the step and nothing is emitted (`noEmitOnError`).
  step('tsc (strict, NodeNext)', join(project, 'node_modules/.bin/tsc'), ['-p', '.'], project);

  for (const name of needed) {
    const installed = join(project, 'node_modules', name, 'package.json');
    if (!existsSync(installed)) fail(`${name} is not installed in ${project}`);
  }
  const found = consumer.forbidden.flatMap((name) => findInstalled(join(project, 'node_modules'), name));
  if (found.length > 0) fail(`consumer "${consumer.name}" must not install ${found.join(', ')}`);
  if (consumer.forbidden.length > 0) console.log(`  none of ${consumer.forbidden.join(', ')} installed`);

  for (const program of programs) {
    const result = spawnSync(process.execPath, [join('dist', program)], {
      cwd: project,
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = `${result.stdout}${result.stderr}`.trim();
    if (result.status !== 0) {
      const reason = result.error?.code === 'ETIMEDOUT' ? 'did not exit within 30 s' : `exited with ${result.status ?? result.signal}`;
      fail(`consumer "${consumer.name}": node dist/${program} ${reason}\n${output}`);
    }
    console.log(`  node dist/${program}: ${output.split('\n').slice(0, 3).join(' | ') || 'exited 0'}`);
  }
}

function step(label, command, args, cwd) {
  const started = performance.now();
  try {
    execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    fail(`${label} failed in ${cwd}\n${error.stdout ?? ''}${error.stderr ?? ''}`.trim());
  }
  console.log(`  ${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Paths under node_modules (at any depth) where a package called `name` is installed. */
function findInstalled(nodeModules, name) {
  const hits = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    if (existsSync(join(dir, name, 'package.json'))) hits.push(join(dir, name));
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === '.bin') continue;
      const scoped = entry.name.startsWith('@');
      const packageDirs = scoped
        ? readdirSync(join(dir, entry.name), { withFileTypes: true }).map((e) => join(dir, entry.name, e.name))
        : [join(dir, entry.name)];
      for (const packageDir of packageDirs) walk(join(packageDir, 'node_modules'));
    }
  };
  walk(nodeModules);
  return hits;
}

function firstTypeScriptBlock(file) {
  const match = /```ts\n([\s\S]*?)```/.exec(readFileSync(file, 'utf8'));
  if (!match) fail(`${file} has no \`\`\`ts snippet`);
  return match[1];
}

function writeJSON(file, value) {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function fail(message) {
  console.error(`\n✖ ${message}`);
  if (work && !flags.keep) rmSync(work, { recursive: true, force: true });
  process.exit(1);
}
