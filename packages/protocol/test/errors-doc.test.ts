import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * docs/errors.md lists every error code. This test scans the sources of every package,
 * so codes added anywhere in the monorepo are picked up without touching the test.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packagesDir = join(root, 'packages');
const CODE_LITERAL = /(['"`])(SYSTEMGE_ERR_[A-Z0-9_]+)\1/g;
const DOC_ROW = /^\|\s*`(SYSTEMGE_ERR_[A-Z0-9_]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|([^|]*)\|\s*$/;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...tsFiles(path));
    } else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(path);
    }
  }
  return out;
}

/** code -> packages whose src uses it as a string literal. */
function codesInSource(): Map<string, Set<string>> {
  const codes = new Map<string, Set<string>>();
  for (const pkg of readdirSync(packagesDir, { withFileTypes: true })) {
    if (!pkg.isDirectory()) continue;
    const src = join(packagesDir, pkg.name, 'src');
    let files: string[];
    try {
      files = tsFiles(src);
    } catch {
      continue;
    }
    const manifest = JSON.parse(readFileSync(join(packagesDir, pkg.name, 'package.json'), 'utf8')) as { name: string };
    for (const file of files) {
      for (const match of readFileSync(file, 'utf8').matchAll(CODE_LITERAL)) {
        const code = match[2] as string;
        if (!codes.has(code)) codes.set(code, new Set());
        codes.get(code)?.add(manifest.name);
      }
    }
  }
  return codes;
}

interface DocRow {
  code: string;
  className: string;
  pkg: string;
  fatal: string;
  meaning: string;
  action: string;
}

function rowsInDoc(): DocRow[] {
  const text = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  const rows: DocRow[] = [];
  for (const line of text.split('\n')) {
    const m = DOC_ROW.exec(line);
    if (m === null) continue;
    const cell = (i: number): string => (m[i] as string).trim();
    rows.push({ code: cell(1), className: cell(2), pkg: cell(3).replaceAll('`', ''), fatal: cell(4), meaning: cell(5), action: cell(6) });
  }
  return rows;
}

describe('docs/errors.md', () => {
  const source = codesInSource();
  const rows = rowsInDoc();
  const documented = new Set(rows.map((r) => r.code));

  it('finds codes in the sources and rows in the doc (the scan itself works)', () => {
    expect(source.has('SYSTEMGE_ERR_FRAME_TOO_LARGE')).toBe(true);
    expect(documented.has('SYSTEMGE_ERR_FRAME_TOO_LARGE')).toBe(true);
  });

  it('documents every code used in packages/*/src', () => {
    const missing = [...source.keys()].filter((code) => !documented.has(code)).sort();
    expect(missing, `add a row to docs/errors.md for: ${missing.join(', ')}`).toEqual([]);
  });

  it('documents no code that no longer exists in the sources', () => {
    const stale = [...documented].filter((code) => !source.has(code)).sort();
    expect(stale, `remove from docs/errors.md (not in any packages/*/src): ${stale.join(', ')}`).toEqual([]);
  });

  it('has one row per code', () => {
    const seen = new Set<string>();
    const duplicates = rows.filter((r) => (seen.has(r.code) ? true : (seen.add(r.code), false))).map((r) => r.code);
    expect(duplicates).toEqual([]);
  });

  it('fills every column and names a package that uses the code', () => {
    const problems: string[] = [];
    for (const row of rows) {
      if (!/^`[A-Za-z0-9]+`$/.test(row.className)) problems.push(`${row.code}: class column must be one \`ClassName\``);
      if (!/^(yes|no|—)/.test(row.fatal)) problems.push(`${row.code}: fatal column must start with yes, no or —`);
      if (row.meaning === '' || row.action === '') problems.push(`${row.code}: meaning and what-to-do must not be empty`);
      const users = source.get(row.code);
      if (users !== undefined && !users.has(row.pkg)) {
        problems.push(`${row.code}: package column says ${row.pkg}, the code is used in ${[...users].join(', ')}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('scans .ts files recursively, skipping dist and node_modules', () => {
    const files = tsFiles(join(packagesDir, 'protocol', 'src')).map((f) => relative(packagesDir, f));
    expect(files).toContain(join('protocol', 'src', 'errors.ts'));
    expect(files.filter((f) => /(^|[\\/])(dist|node_modules)[\\/]/.test(f))).toEqual([]);
  });
});
