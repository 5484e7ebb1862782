import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openFeed, startDashboard, startNode } from './helpers.js';

const TOKEN = 'serving-test-token.0123456789';

function assetPaths(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
}

describe('the browser UI at /', () => {
  it('serves the bundled page with a self-only policy and revalidation', async () => {
    const dashboard = await startDashboard();
    const page = await dashboard.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    // Nothing is loaded from another host, and no inline script or style needs an exception.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page.body).not.toMatch(/<script>|<style|style="/);
    expect(page.body).toContain('<title>Systemge dashboard</title>');

    const again = await dashboard.inject({ url: '/', headers: { 'if-none-match': String(page.headers['etag']) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves the hashed assets with their types, a year of caching and gzip', async () => {
    const dashboard = await startDashboard();
    const paths = assetPaths((await dashboard.inject('/')).body);
    expect(paths.map((p) => p.replace(/-[A-Za-z0-9]+\./, '-*.')).sort()).toEqual([
      '/assets/app-*.css',
      '/assets/app-*.js',
      '/assets/favicon-*.svg',
    ]);
    const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
    for (const path of paths) {
      const plain = await dashboard.inject(path);
      expect(plain.statusCode, path).toBe(200);
      expect(plain.headers['content-type'], path).toBe(types[path.split('.').pop()!]);
      expect(plain.headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
      expect(plain.headers['content-encoding'], path).toBeUndefined();
      const gzipped = await dashboard.inject({ url: path, headers: { 'accept-encoding': 'gzip, br' } });
      expect(gzipped.headers['content-encoding'], path).toBe('gzip');
      expect(gzipped.headers['vary'], path).toBe('accept-encoding');
      expect(gunzipSync(gzipped.rawPayload).toString(), path).toBe(plain.body);
    }
    const js = await dashboard.inject({ url: paths.find((p) => p.endsWith('.js'))!, headers: { 'accept-encoding': 'gzip' } });
    // The page's own budget: the whole script, uPlot included, under 200 KB gzipped.
    expect(js.rawPayload.length).toBeLessThan(200 * 1024);
    expect((await dashboard.inject('/assets/nope.js')).statusCode).toBe(404);
  });

  it('serves the page without a token but nothing else', async () => {
    const dashboard = await startDashboard({ token: TOKEN });
    const page = await dashboard.inject('/');
    expect(page.statusCode).toBe(200);
    for (const path of assetPaths(page.body)) expect((await dashboard.inject(path)).statusCode, path).toBe(200);
    for (const path of ['/api/health', '/api/nodes', '/metrics', '/assets/../api/nodes', '/nope']) {
      expect((await dashboard.inject(path)).statusCode, path).toBe(401);
    }
  });
});

describe('what the page reads from the feed', () => {
  it('metrics messages carry uptime, address, process and connections beside the summary', async () => {
    const dashboard = await startDashboard();
    const node = await startNode({ name: 'listed' });
    dashboard.addNode(node);
    const feed = await openFeed(dashboard);
    const message = await feed.next((m) => m.type === 'metrics' && m['name'] === 'listed', 5000, 'metrics message');
    expect(message).toMatchObject({
      address: node.address,
      pid: process.pid,
      connections: 0,
      uptimeMs: expect.any(Number),
      summary: { syncRequestsSentPerSecond: 0, syncRequestsReceivedPerSecond: 0 },
    });
  });
});
