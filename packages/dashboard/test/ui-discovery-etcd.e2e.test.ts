/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Callbacks given to page.evaluate / waitForFunction run in the browser, hence the DOM types.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connectDashboard } from '@systemge/dashboard-link';
import { etcdDiscovery } from '@systemge/discovery-etcd';
import type { SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dashboard } from '../src/index.js';
import { startEtcd, type TestEtcd } from '@systemge/discovery-etcd/testing';
import { onCleanup, startDashboard, startNode, until } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_INDEX = fileURLToPath(new URL('../dist/ui/index.html', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
// CI installs Chromium and never skips.
const haveBrowser = existsSync(CHROMIUM) || process.env.CI === 'true';
/** The page must follow the mesh through pushes: the describe refresh never runs during the test. */
const REFRESH_MS = 600_000;

/** The part of `window.systemgeDashboard` this test reads. */
interface EdgesHook {
  systemgeDashboard: { edges(): { from: string; to: string }[] };
}

let browser: Browser;
let etcd: TestEtcd;

beforeAll(async () => {
  if (!haveBrowser) return;
  if (!existsSync(UI_INDEX)) throw new Error(`the UI is not built (${UI_INDEX} is missing): run pnpm --filter @systemge/dashboard build`);
  etcd = await startEtcd();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  await mkdir(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await etcd?.remove();
});

/** A node that finds its peers through etcd only, linked to the dashboard. */
async function meshNode(dashboard: Dashboard, name: string): Promise<{ node: SystemgeNode; leave: () => Promise<void> }> {
  const source = etcdDiscovery({
    endpoints: [etcd.endpoint],
    cluster: 'dashboard-ui',
    leaseTtlSeconds: 10,
    keepAliveIntervalMs: 300,
    maxRetryDelayMs: 500,
    requestTimeoutMs: 1000,
  });
  const node = await startNode({ name, listen: { host: '127.0.0.1', port: 0 } }, {}, { discovery: { source } });
  onCleanup(() => source.close());
  const link = await connectDashboard(node, { ...dashboard.systemgeAddress!, transport: tcpTransport() });
  onCleanup(() => link.close());
  await link.ready();
  return {
    node,
    leave: async () => {
      await node.stop();
      await link.close();
    },
  };
}

/** A loopback port nothing listens on (taken, read back, released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Every unordered pair of `names`, as `a|b` with a < b. */
function pairs(names: string[]): string[] {
  const out: string[] = [];
  for (const a of names) for (const b of names) if (a < b) out.push(`${a}|${b}`);
  return out.sort();
}

/** The connections the page draws, as unordered pairs. */
async function drawnPairs(page: Page): Promise<string[]> {
  const lines = await page
    .locator('svg.topology-svg line.edge')
    .evaluateAll((els) => els.map((l) => [l.getAttribute('data-from') ?? '', l.getAttribute('data-to') ?? '']));
  return [...new Set(lines.map(([a, b]) => (a! < b! ? `${a}|${b}` : `${b}|${a}`)))].sort();
}

async function vertices(page: Page): Promise<string[]> {
  return (await page.locator('svg.topology-svg g.vertex').evaluateAll((els) => els.map((g) => g.getAttribute('data-node') ?? ''))).sort();
}

async function rows(page: Page): Promise<Record<string, string>> {
  return Object.fromEntries(
    await page
      .locator('tr[data-node]')
      .evaluateAll((els) => els.map((r) => [r.getAttribute('data-node') ?? '', r.getAttribute('data-status') ?? ''])),
  );
}

async function waitForPage(page: Page, what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await until(check, timeoutMs, what);
}

describe.skipIf(!haveBrowser)('dashboard page: a mesh formed through etcd', () => {
  it('shows the nodes and their edges as they join and leave, and degraded discovery when etcd stops', { timeout: 180_000 }, async () => {
    const dashboard = await startDashboard({ metricsIntervalMs: REFRESH_MS, systemge: { transport: tcpTransport() } });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    onCleanup(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(dashboard.url!);
    await page.locator('.live[data-state="live"]').waitFor({ timeout: 10_000 });

    // Three nodes that know only the etcd address: the page shows them and the full mesh between them.
    const nodes = new Map<string, Awaited<ReturnType<typeof meshNode>>>();
    for (const name of ['mesh-1', 'mesh-2', 'mesh-3']) nodes.set(name, await meshNode(dashboard, name));
    await waitForPage(page, 'three nodes and three edges on the page', async () => {
      const r = await rows(page);
      return Object.keys(r).length === 3 && (await drawnPairs(page)).join() === pairs(['mesh-1', 'mesh-2', 'mesh-3']).join();
    });
    expect(Object.values(await rows(page))).toEqual(['started', 'started', 'started']);
    expect(await vertices(page)).toEqual(['mesh-1', 'mesh-2', 'mesh-3']);
    // Each pair is one connection: three arrows, not six.
    expect(await page.evaluate(() => (window as unknown as EdgesHook).systemgeDashboard.edges().length)).toBe(3);
    // Each node's discovery: etcd, two members, not degraded.
    for (const name of nodes.keys()) {
      const badge = page.locator(`tr[data-node="${name}"] .discovery`);
      await expect.poll(() => badge.textContent(), { timeout: 10_000 }).toBe('etcd · 2 members');
      expect(await badge.getAttribute('data-state')).toBe('ok');
    }

    // A fourth node joins: it shows with its three edges.
    const timings: string[] = [];
    let since = performance.now();
    nodes.set('mesh-4', await meshNode(dashboard, 'mesh-4'));
    const four = ['mesh-1', 'mesh-2', 'mesh-3', 'mesh-4'];
    await waitForPage(page, 'the fourth node and its edges', async () => (await drawnPairs(page)).join() === pairs(four).join());
    timings.push(`4th node with its edges ${(performance.now() - since).toFixed(0)} ms after it was created`);
    expect(await vertices(page)).toEqual(four);
    expect(await page.locator('tr[data-node="mesh-4"]').getAttribute('data-status')).toBe('started');

    // A member announced in etcd that nobody can reach (nothing listens on its port): the page shows it
    // known through discovery and not connected, in its own style, until it leaves.
    const outsider = etcdDiscovery({ endpoints: [etcd.endpoint], cluster: 'dashboard-ui', requestTimeoutMs: 1000 });
    onCleanup(() => outsider.close());
    await outsider.start({ name: 'outsider', host: '127.0.0.1', port: await closedPort() });
    await waitForPage(page, 'the unreachable member, discovered', async () => {
      const links = await page
        .locator('svg.topology-svg line.discovered-link')
        .evaluateAll((els) => els.map((l) => `${l.getAttribute('data-from')}>${l.getAttribute('data-to')}`));
      return links.filter((l) => l.endsWith('>outsider')).length === 4;
    });
    expect(await page.locator('svg.topology-svg g.vertex[data-node="outsider"]').getAttribute('data-status')).toBe('discovered');
    expect(await page.locator('tr[data-node="outsider"]').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}discovery-mesh-4.png` });
    await outsider.stop();
    await waitForPage(page, 'the unreachable member gone', async () => (await vertices(page)).join() === four.join());
    expect(await page.locator('svg.topology-svg line.discovered-link').count()).toBe(0);

    // One node leaves (its process ends: node and link stop): its edges and its vertex vanish; the list keeps it as disconnected.
    since = performance.now();
    await nodes.get('mesh-2')!.leave();
    const rest = ['mesh-1', 'mesh-3', 'mesh-4'];
    await waitForPage(page, 'mesh-2 gone from the topology', async () => {
      return (await drawnPairs(page)).join() === pairs(rest).join() && (await vertices(page)).join() === rest.join();
    });
    timings.push(`a stopped node's edges gone ${(performance.now() - since).toFixed(0)} ms after stop() was called`);
    await expect.poll(async () => (await rows(page))['mesh-2'], { timeout: 10_000 }).toBe('disconnected');
    expect(await page.locator('svg.topology-svg line.discovered-link').count()).toBe(0);

    // etcd stops: every node reports degraded discovery, and the connections stay.
    since = performance.now();
    await etcd.kill();
    await waitForPage(
      page,
      'degraded discovery on the page',
      async () => (await page.locator('tr[data-status="started"] .discovery[data-state="degraded"]').count()) === 3,
      60_000,
    );
    timings.push(`degraded on all three ${(performance.now() - since).toFixed(0)} ms after etcd was killed`);
    console.log(`dashboard page, mesh through etcd: ${timings.join('; ')}`);
    for (const name of rest) {
      expect(await page.locator(`tr[data-node="${name}"] .discovery`).textContent()).toBe('etcd degraded');
      expect(await page.locator(`svg.topology-svg g.vertex[data-node="${name}"]`).getAttribute('data-discovery')).toBe('degraded');
    }
    expect(await page.locator('svg.topology-svg circle.degraded-ring').count()).toBe(3);
    expect((await drawnPairs(page)).join()).toBe(pairs(rest).join());
    const listed = (await dashboard.inject('/api/nodes')).json() as {
      nodes: { name: string; discovery: { degraded: boolean; degradedReason: string | null } | null }[];
    };
    for (const n of listed.nodes.filter((x) => rest.includes(x.name))) {
      expect(n.discovery?.degraded, n.name).toBe(true);
      expect(n.discovery?.degradedReason, n.name).toMatch(/etcd discovery at http:\/\/127\.0\.0\.1:\d+ unavailable/);
    }
    await page.screenshot({ path: `${ARTIFACTS}discovery-degraded.png` });
    expect(problems).toEqual([]);
  });
});
