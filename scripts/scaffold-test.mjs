#!/usr/bin/env node
// `systemge init` end to end, the way a newcomer meets it: packs the packages, scaffolds a new
// project in a temporary folder outside the workspace, installs it with npm (the @systemge
// packages from the tarballs, everything else from the registry) and runs the project's own
// `npm test`. Prints how long each step and the whole took.
//
//   node scripts/scaffold-test.mjs          build first (`pnpm build:packages`); `pnpm test:scaffold` does both
//   node scripts/scaffold-test.mjs --keep   keep the project for inspection
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { internalDependencies, packPackage, publishedPackages, root } from './package-tarballs.mjs';

const { values: flags } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });
const packages = new Map(publishedPackages().map((pkg) => [pkg.name, pkg]));
const work = mkdtempSync(join(tmpdir(), 'systemge-scaffold-'));
if (work.startsWith(root)) fail(`the temporary folder ${work} is inside the repository`);

function fail(message) {
  console.error(`✖ ${message}`);
  process.exit(1);
}

function closure(names) {
  const out = new Set();
  const visit = (name) => {
    if (out.has(name)) return;
    out.add(name);
    const pkg = packages.get(name);
    if (pkg === undefined) fail(`${name} does not exist in packages/`);
    if (!pkg.built) fail(`${name} is not built: run pnpm build:packages`);
    internalDependencies(pkg.manifest).forEach(visit);
  };
  names.forEach(visit);
  return [...out].sort();
}

function step(label, command, args, cwd) {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0)
    fail(`${label} failed (exit ${result.status ?? result.signal}) in ${cwd}\n${result.stdout}${result.stderr}`.trim());
  console.log(`  ${label}: ${seconds.toFixed(1)} s`);
  return { seconds, output: `${result.stdout}${result.stderr}` };
}

try {
  console.log(`▶ systemge init, outside the workspace (${work})`);
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packStarted = performance.now();
  for (const name of closure(['@systemge/cli', '@systemge/node'])) packPackage(packages.get(name), tarballs);
  console.log(`  pnpm pack (${closure(['@systemge/cli']).length} packages): ${((performance.now() - packStarted) / 1000).toFixed(1)} s`);

  const bin = join(root, 'packages/cli/dist/bin.js');
  const project = join(work, 'my-systemge-app');
  const scaffold = step(
    'systemge init --from-tarballs (write + npm install)',
    process.execPath,
    [bin, 'init', project, '--from-tarballs', tarballs],
    work,
  );
  const test = step("npm test (the new project's own test)", 'npm', ['test'], project);
  if (!/# pass 2\b/.test(test.output) || !/# fail 0\b/.test(test.output))
    fail(`the project's test did not report 2 passing tests:\n${test.output}`);
  // The project's own CLI answers too.
  execFileSync(join(project, 'node_modules/.bin/systemge'), ['validate', 'systemge.yaml'], { cwd: project, stdio: 'ignore' });
  console.log(
    `✔ scaffold to a passing project test: ${(scaffold.seconds + test.seconds).toFixed(1)} s (init + install ${scaffold.seconds.toFixed(1)} s, npm test ${test.seconds.toFixed(1)} s)`,
  );
} finally {
  if (flags.keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
