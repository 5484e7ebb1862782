import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Entry script of the remote-nodes child process (see remote-process.ts). */
    remoteProcessScript: string;
  }
}

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Builds the browser UI into dist/ui. Child processes cannot run TypeScript, so the fixtures are
 * transpiled once per run into test-artifacts/ inside the package, where `@systemge/*` imports
 * resolve to the built packages.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The server reads the browser UI from dist/ui; bundle it from the current sources (esbuild, well under a second).
  execFileSync(process.execPath, [join(root, 'scripts', 'build-ui.mjs'), '--quiet'], { stdio: 'inherit' });
  const out = join(root, 'test-artifacts', `fixtures-${process.pid}`);
  await mkdir(out, { recursive: true });
  const dir = join(root, 'test', 'fixtures');
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(await readFile(join(dir, name), 'utf8'), {
      fileName: name,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    await writeFile(join(out, name.replace(/\.ts$/, '.js')), outputText);
  }
  project.provide('remoteProcessScript', join(out, 'remote-process.js'));
  return () => rm(out, { recursive: true, force: true });
}
