// Bundles the browser UI (ui/) into dist/ui: index.html plus content-hashed assets.
// Everything the page needs is in the package; it loads nothing from elsewhere at run time.
// `--quiet` leaves out the size report (the test setup rebuilds the UI before every run).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const quiet = process.argv.includes('--quiet');
const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'ui');
const assets = join(out, 'assets');

await rm(out, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

// uPlot's MIT notice travels with the bundle that contains it.
const uplot = JSON.parse(await readFile(join(root, 'node_modules', 'uplot', 'package.json'), 'utf8'));
const result = await build({
  banner: { js: `/*! uPlot ${uplot.version} | (c) Leon Sorokin | MIT License */` },
  entryPoints: { app: join(root, 'ui', 'src', 'main.ts') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome109', 'firefox115', 'safari16'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'eof',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => join(root, p));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));
if (js === undefined || css === undefined) throw new Error(`expected one .js and one .css output, got ${outputs.join(', ')}`);

const icon = await readFile(join(root, 'ui', 'favicon.svg'));
const iconName = `favicon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
await writeFile(join(assets, iconName), icon);

const template = await readFile(join(root, 'ui', 'index.html'), 'utf8');
const html = template
  .replace('%JS%', `/assets/${basename(js)}`)
  .replace('%CSS%', `/assets/${basename(css)}`)
  .replace('%ICON%', `/assets/${iconName}`);
await writeFile(join(out, 'index.html'), html);

let raw = 0;
let gzipped = 0;
for (const file of [join(out, 'index.html'), js, css, join(assets, iconName)]) {
  const body = await readFile(file);
  const gz = gzipSync(body, { level: 9 }).length;
  raw += body.length;
  gzipped += gz;
  if (!quiet)
    console.log(`  ${file.slice(root.length).padEnd(40)} ${String(body.length).padStart(8)} B  ${String(gz).padStart(7)} B gzipped`);
}
if (!quiet) console.log(`  UI total ${(raw / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
