// Finds the published packages of the workspace and packs them the way `pnpm publish` would.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Every non-private package under `packages/`, sorted by name. `built` says whether the file the
 * main export points at exists, i.e. whether the package can be packed meaningfully.
 */
export function publishedPackages() {
  const packagesDir = join(root, 'packages');
  const found = [];
  for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
    const dir = join(packagesDir, entry.name);
    const manifestPath = join(dir, 'package.json');
    if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.private) continue;
    const main = manifest.exports?.['.']?.default ?? manifest.main ?? './dist/index.js';
    found.push({ name: manifest.name, folder: entry.name, dir, manifest, built: existsSync(join(dir, main)) });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Names of every workspace package, private ones included (the globs of pnpm-workspace.yaml). */
export function workspacePackageNames() {
  const dirs = [join(root, 'bench')];
  for (const parent of ['packages', 'examples']) {
    if (!existsSync(join(root, parent))) continue;
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
      if (entry.isDirectory()) dirs.push(join(root, parent, entry.name));
    }
  }
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name);
}

/** Runs `pnpm pack` in the package folder; returns the tarball path and the packed file list. */
export function packPackage(pkg, destination) {
  const output = execFileSync('pnpm', ['pack', '--pack-destination', destination, '--json'], {
    cwd: pkg.dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const result = JSON.parse(output.slice(output.indexOf('{')));
  return { tarball: result.filename, files: result.files.map((file) => file.path) };
}

/** Names of the `@systemge/*` packages a manifest needs at run time (dependencies and required peers). */
export function internalDependencies(manifest) {
  const optionalPeers = new Set(
    Object.entries(manifest.peerDependenciesMeta ?? {})
      .filter(([, meta]) => meta?.optional)
      .map(([name]) => name),
  );
  const names = [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}).filter((name) => !optionalPeers.has(name)),
  ];
  return names.filter((name) => name.startsWith('@systemge/'));
}

/** Runs a command, inheriting output; throws with the command line on a non-zero exit. */
export function run(command, args, options = {}) {
  execFileSync(command, args, { stdio: 'inherit', ...options });
}
