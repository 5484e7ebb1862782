// Module hooks behind register.mjs (they run on Node's loader thread).
import { readFile } from 'node:fs/promises';
import { transform } from 'esbuild';

const CONDITION = '@systemge/source';

export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes(CONDITION) ? context.conditions : [CONDITION, ...context.conditions];
  try {
    return await nextResolve(specifier, { ...context, conditions });
  } catch (error) {
    // TypeScript sources import each other as `./x.js`; on disk it is `./x.ts`.
    const fromTs = context.parentURL?.endsWith('.ts') === true;
    if (error?.code === 'ERR_MODULE_NOT_FOUND' && fromTs && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, { ...context, conditions });
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.endsWith('.d.ts')) return nextLoad(url, context);
  const source = await readFile(new URL(url), 'utf8');
  // esbuild strips types in about a millisecond per file; loading the TypeScript compiler into every
  // child process a test forks took seconds on a busy machine.
  const { code: outputText } = await transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'es2022',
    sourcefile: new URL(url).pathname,
    sourcemap: 'inline',
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
