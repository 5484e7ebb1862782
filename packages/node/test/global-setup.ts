import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Entry script of a node child process (see child-node.ts). */
    childNodeScript: string;
  }
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** The .ts files under `dir`, subfolders included. */
async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await tsFiles(path)));
    else if (e.isFile() && e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/**
 * Child processes run this package's sources, not a possibly stale dist/: they are transpiled
 * once per run into test-artifacts/ (inside the package, so `@systemge/*` imports still resolve).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const out = join(root, 'test-artifacts', `child-node-${process.pid}`);
  const sources = [...(await tsFiles(join(root, 'src'))), ...(await tsFiles(join(root, 'test', 'fixtures')))];
  for (const file of sources) {
    const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  project.provide('childNodeScript', join(out, 'test', 'fixtures', 'node-process.js'));
  return async () => {
    await rm(out, { recursive: true, force: true });
    // Only when no other run is using it.
    await rmdir(dirname(out)).catch(() => {});
  };
}
