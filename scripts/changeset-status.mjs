#!/usr/bin/env node
// CI check: every published package that changed since its last release is named by a pending
// changeset. `changeset status` alone only fails when there are no changesets at all, and needs
// the base branch checked out; this works in any full clone (a shallow one is deepened first).
//
// A package's last release is the last commit that changed the "version" line of its
// package.json (what `changeset version` does); a package still at 0.0.0 was never released and
// needs a changeset for its first release. Changes to tests and to CHANGELOG.md do not count.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishedPackages, root, workspacePackageNames } from './package-tarballs.mjs';

const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
const lines = (text) => text.split('\n').filter(Boolean);

if (git('rev-parse', '--is-shallow-repository') === 'true') {
  console.log('shallow clone: fetching the full history');
  git('fetch', '--unshallow', '--quiet');
}

const firstCommit = lines(git('rev-list', '--max-parents=0', 'HEAD'))[0];

// Pending changesets: front matter of `"<package>": patch|minor|major|none` lines.
const known = new Set(workspacePackageNames());
const pending = readdirSync(join(root, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md');
const covered = new Set();
const invalid = [];
for (const file of pending) {
  const match = /^---\r?\n([\s\S]*?)\r?\n?---/.exec(readFileSync(join(root, '.changeset', file), 'utf8'));
  if (!match) invalid.push(`.changeset/${file}: no front matter`);
  for (const line of lines(match?.[1] ?? '')) {
    const release = /^\s*["']?([^"':\s]+)["']?\s*:\s*(patch|minor|major|none)\s*$/.exec(line);
    if (!release) invalid.push(`.changeset/${file}: cannot read "${line}"`);
    else if (!known.has(release[1])) invalid.push(`.changeset/${file}: no package named ${release[1]}`);
    else covered.add(release[1]);
  }
}
if (invalid.length > 0) {
  console.error(`✖ ${invalid.join('\n✖ ')}`);
  process.exit(1);
}

// Once they are committed (always, in CI), `changeset status` prints the release plan and
// validates it the way `changeset version` will. It is asked about changes since the root commit
// so that it needs no local base branch, which CI checkouts often lack.
const untracked = lines(git('ls-files', '--others', '--exclude-standard', '--', '.changeset'));
if (pending.length > 0 && untracked.length === 0) {
  try {
    execFileSync(join(root, 'node_modules/.bin/changeset'), ['status', `--since=${firstCommit}`], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error('\n✖ `changeset status` failed (see above).');
    process.exit(1);
  }
} else if (untracked.length > 0) {
  console.log(`uncommitted changesets (${untracked.join(', ')}): \`changeset status\` runs once they are committed`);
}
console.log(`\n${pending.length} pending changeset(s)`);

const config = JSON.parse(readFileSync(join(root, '.changeset/config.json'), 'utf8'));
const ignored = new Set(config.ignore ?? []);
const counts = (file) => !/(^|\/)(test|tests|__tests__)\/|(^|\/)CHANGELOG\.md$|(^|\/)vitest\.config\.[cm]?[jt]s$/.test(file);

const missing = [];
for (const pkg of publishedPackages()) {
  if (ignored.has(pkg.name)) continue;
  const folder = `packages/${pkg.folder}`;
  let reason;
  if (pkg.manifest.version === '0.0.0') {
    reason = 'never released (version 0.0.0)';
  } else {
    const release = lines(git('log', '-n', '1', '--format=%H', '-G', '"version"', '--', `${folder}/package.json`))[0];
    const changed = [
      ...lines(git('diff', '--name-only', release ?? firstCommit, '--', folder)),
      ...lines(git('ls-files', '--others', '--exclude-standard', '--', folder)),
    ].filter(counts);
    if (changed.length > 0)
      reason = `changed since ${pkg.manifest.version} (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', …' : ''})`;
  }
  if (reason === undefined) continue;
  if (covered.has(pkg.name)) console.log(`✔ ${pkg.name}: ${reason}; a changeset releases it`);
  else missing.push(`${pkg.name}: ${reason}, and no pending changeset names it`);
}

if (missing.length > 0) {
  console.error(`\n✖ ${missing.join('\n✖ ')}\nAdd a changeset with \`pnpm changeset\` (see RELEASING.md).`);
  process.exit(1);
}
console.log('\nevery changed package has a pending changeset.');
