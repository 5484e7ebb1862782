import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** One file of the browser UI, held in memory with its headers. */
export interface UIFile {
  body: Buffer;
  /** The body gzipped, when that makes it smaller. */
  gzipped: Buffer | undefined;
  contentType: string;
  cacheControl: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The page's policy: its script, style sheet and icon come from the dashboard itself and
 * nothing else; it talks only to its own origin (the API and `/ws`).
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Served at `/` when the package was not built with its UI (running from source). It loads nothing and runs no script. */
const UI_MISSING_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Systemge dashboard</title>
</head>
<body>
<h1>Systemge dashboard</h1>
<p>The browser UI is not built: run <code>pnpm build</code> in <code>packages/dashboard</code>. The JSON API (<code>/api/nodes</code>, <code>/api/topology</code>, <code>/api/health</code>), <code>/metrics</code> and the <code>/ws</code> feed work without it.</p>
</body>
</html>
`;

/** `dist/ui` next to the compiled server, or, when running from `src`, the package's `dist/ui`. */
function uiDirectory(): string | undefined {
  for (const candidate of ['./ui/', '../dist/ui/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

function file(body: Buffer, name: string, cacheControl: string): UIFile {
  const contentType = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
  const compressible = !contentType.startsWith('image/png');
  const gz = compressible ? gzipSync(body, { level: 9 }) : undefined;
  return {
    body,
    gzipped: gz !== undefined && gz.length < body.length ? gz : undefined,
    contentType,
    cacheControl,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

/**
 * The UI's files by URL path, read once. `/` is `index.html`, revalidated on every load;
 * `/assets/*` have content hashes in their names and are cached for a year.
 */
export function loadUIFiles(): Map<string, UIFile> {
  const files = new Map<string, UIFile>();
  const dir = uiDirectory();
  if (dir === undefined) {
    files.set('/', file(Buffer.from(UI_MISSING_PAGE), 'index.html', 'no-cache'));
    return files;
  }
  files.set('/', file(readFileSync(join(dir, 'index.html')), 'index.html', 'no-cache'));
  const assets = join(dir, 'assets');
  if (existsSync(assets)) {
    for (const name of readdirSync(assets)) {
      const path = join(assets, name);
      if (!statSync(path).isFile() || name.endsWith('.map')) continue;
      files.set(`/assets/${name}`, file(readFileSync(path), name, 'public, max-age=31536000, immutable'));
    }
  }
  return files;
}
