/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Callbacks given to page.evaluate / waitForFunction run in the browser, hence the DOM types.
import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SystemgeNode } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type Dashboard } from '../src/index.js';
import { forkRemoteNodes, onCleanup, startDashboard, startNode, until } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_INDEX = fileURLToPath(new URL('../dist/ui/index.html', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL('../docs/dashboard.png', import.meta.url));
const DOCS_SCREENSHOT_PHONE = fileURLToPath(new URL('../docs/dashboard-390.png', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const TOKEN = 'ui-test-token.0123456789abcdef';

/** What the page exposes on `window.systemgeDashboard` for tests. */
interface PageHook {
  nodes(): { name: string; status: string }[];
  edges(): { from: string; to: string }[];
  series(scope: string): Record<string, (number | null)[]> | undefined;
  chartGeometry(): {
    id: string;
    xLabels: string[];
    yLabels: string[];
    yTop: number;
    yTopGridline: number;
    dataMax: number;
    xLabelsRight: number;
    width: number;
  }[];
}
declare global {
  interface Window {
    systemgeDashboard: PageHook;
  }
}

// Without a browser (a laptop without Chromium) the suite says so and skips; CI installs Chromium and never skips.
const haveBrowser = existsSync(CHROMIUM) || process.env.CI === 'true';
if (!haveBrowser) console.warn(`dashboard UI: Chromium not found at ${CHROMIUM}; set CHROMIUM_PATH to run the browser tests`);

let browser: Browser;

beforeAll(async () => {
  if (!haveBrowser) return;
  if (!existsSync(UI_INDEX)) throw new Error(`the UI is not built (${UI_INDEX} is missing): run pnpm --filter @systemge/dashboard build`);
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}; install it (apt-get install chromium) or set CHROMIUM_PATH`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  await mkdir(ARTIFACTS, { recursive: true });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

/** A page in its own context (own sessionStorage), closed after the test; collects script errors and CSP violations. */
async function openPage(url: string, viewport = DESKTOP): Promise<{ page: Page; context: BrowserContext; problems: string[] }> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  onCleanup(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/content security policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  // A missing favicon or asset shows as a failed request in the browser console.
  page.on('response', (response) => {
    if (response.status() === 404) problems.push(`404: ${response.url()}`);
  });
  await page.goto(url);
  await page.locator('.live[data-state="live"], .login:not([hidden])').first().waitFor({ timeout: 10_000 });
  return { page, context, problems };
}

/**
 * Two nodes in another process (`edge-b` dials `edge-a`) and two in this one (`gateway` dials
 * `edge-a` and `pricing`), all over TCP on 127.0.0.1, on one dashboard.
 */
async function cluster(metricsIntervalMs = 200) {
  const dashboard = await startDashboard({
    metricsIntervalMs,
    systemge: { transport: tcpTransport(), heartbeat: { intervalMs: 200, timeoutMs: 600 } },
  });
  await forkRemoteNodes({ dashboardPort: dashboard.systemgeAddress!.port, prefix: 'edge-' });
  const edgeAddress = () => dashboard.nodes().find((n) => n.name === 'edge-a' && n.status === 'started')?.address ?? undefined;
  await until(
    () => dashboard.nodes().filter((n) => n.status === 'started').length === 2 && edgeAddress() !== undefined,
    10_000,
    'remote nodes',
  );
  const edgeA = edgeAddress()!;
  const pricing = await startNode(
    { name: 'pricing' },
    { getSyncMessageHandlers: () => ({ quote: (message) => `quote for ${String(message.payload)}` }) },
  );
  const gateway = await startNode({
    name: 'gateway',
    endpoints: [
      { host: '127.0.0.1', port: edgeA.port },
      { host: '127.0.0.1', port: pricing.address!.port },
    ],
  });
  dashboard.addNode(gateway);
  dashboard.addNode(pricing);
  return { dashboard, gateway, pricing };
}

/** Async and sync traffic from `gateway` until the test ends. */
function traffic(gateway: SystemgeNode): void {
  let n = 0;
  const timer = setInterval(() => {
    if (gateway.status !== 'started') return;
    try {
      for (let i = 0; i < 5; i++) gateway.asyncMessage('work', `job ${n++}`);
      void gateway
        .syncRequest('quote', `ACME-${n}`)
        .first()
        .catch(() => {});
    } catch {
      // A peer is away for a moment; the next round tries again.
    }
  }, 20);
  onCleanup(() => clearInterval(timer));
}

async function edgeCount(dashboard: Dashboard): Promise<number> {
  return ((await dashboard.inject('/api/topology')).json() as { edges: unknown[] }).edges.length;
}

async function rowNames(page: Page): Promise<string[]> {
  return page.locator('tr[data-node]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node') ?? ''));
}

function row(page: Page, name: string) {
  return page.locator(`tr[data-node="${name}"]`);
}

/** Every chart: distinct y labels, the top gridline at the top of the scale above every value, the last time label inside the chart. */
async function expectCleanCharts(page: Page, where: string): Promise<void> {
  const charts = await page.evaluate(() => window.systemgeDashboard.chartGeometry());
  expect(charts.length).toBe(8);
  for (const chart of charts) {
    const labels = chart.yLabels.filter((l) => l !== '');
    expect(new Set(labels).size, `${where} ${chart.id} y labels ${chart.yLabels.join(', ')}`).toBe(labels.length);
    expect(labels.length, `${where} ${chart.id} y labels`).toBeGreaterThanOrEqual(2);
    expect(chart.yTopGridline, `${where} ${chart.id} top gridline`).toBeCloseTo(chart.yTop, 6);
    expect(chart.dataMax, `${where} ${chart.id} highest value`).toBeLessThanOrEqual(chart.yTop);
    expect(chart.xLabelsRight, `${where} ${chart.id} last time label`).toBeLessThanOrEqual(chart.width);
    const times = chart.xLabels.filter((l) => l !== '');
    expect(new Set(times).size, `${where} ${chart.id} time labels ${chart.xLabels.join(', ')}`).toBe(times.length);
    expect(times.length, `${where} ${chart.id} time labels`).toBeGreaterThanOrEqual(1);
  }
}

/** No arrow ends on a vertex's name, and every name lies inside the drawing. */
async function expectArrowsClearOfLabels(page: Page): Promise<void> {
  const problems = await page.evaluate(() => {
    const out: string[] = [];
    const svgEl = document.querySelector<SVGSVGElement>('svg.topology-svg')!;
    const frame = svgEl.getBoundingClientRect();
    const labels = [...svgEl.querySelectorAll<SVGTextElement>('g.vertex text.label')].map((t) => ({
      name: t.textContent ?? '',
      box: t.getBoundingClientRect(),
    }));
    for (const { name, box } of labels) {
      if (box.left < frame.left - 0.5 || box.right > frame.right + 0.5 || box.top < frame.top - 0.5 || box.bottom > frame.bottom + 0.5)
        out.push(`label ${name} outside the drawing`);
    }
    for (const line of svgEl.querySelectorAll<SVGLineElement>('line.edge')) {
      const point = svgEl.createSVGPoint();
      point.x = line.x2.baseVal.value;
      point.y = line.y2.baseVal.value;
      const end = point.matrixTransform(line.getScreenCTM()!);
      for (const { name, box } of labels) {
        if (end.x >= box.left - 2 && end.x <= box.right + 2 && end.y >= box.top - 2 && end.y <= box.bottom + 2) {
          out.push(`arrow ${line.dataset['from']}->${line.dataset['to']} ends on label ${name}`);
        }
      }
    }
    return out;
  });
  expect(problems).toEqual([]);
}

describe.runIf(haveBrowser)('dashboard UI in Chromium', () => {
  it('lists local and remote nodes with their status, address and uptime', async () => {
    const { dashboard } = await cluster();
    await until(async () => (await edgeCount(dashboard)) === 3, 5000, 'three edges');

    const context = await browser.newContext({ viewport: DESKTOP });
    onCleanup(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    const started = Date.now();
    await page.goto(dashboard.url!);
    await page.locator('tr[data-node]').nth(3).waitFor({ timeout: 5000 });
    const shownMs = Date.now() - started;
    const marks = await page.evaluate(() => {
      const at = (name: string): number => Math.round(performance.getEntriesByName(name)[0]?.startTime ?? -1);
      return {
        script: Math.round((performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domInteractive),
        feed: at('feed-open'),
        shown: at('nodes-shown'),
      };
    });
    console.log(
      `dashboard UI: nodes shown ${shownMs} ms after navigation started, as seen by the test ` +
        `(in the page: DOM interactive ${marks.script} ms, feed open ${marks.feed} ms, nodes shown ${marks.shown} ms)`,
    );

    expect((await rowNames(page)).sort()).toEqual(['edge-a', 'edge-b', 'gateway', 'pricing']);
    for (const name of ['edge-a', 'edge-b', 'gateway', 'pricing']) {
      await expect.poll(() => row(page, name).getAttribute('data-status')).toBe('started');
    }
    await expect.poll(() => row(page, 'edge-a').locator('.kind').textContent()).toBe('remote');
    expect(await row(page, 'gateway').locator('.kind').textContent()).toBe('local');
    const port = dashboard.nodes().find((n) => n.name === 'edge-a')!.address!.port;
    expect(await row(page, 'edge-a').locator('.address').textContent()).toBe(`127.0.0.1:${port}`);
    await page.waitForFunction(() => /\ds$/.test(document.querySelector('tr[data-node="pricing"] .uptime')?.textContent ?? ''));
    expect(await page.locator('.counts').textContent()).toBe('4 nodes · 4 started');
    expect(problems).toEqual([]);
  });

  it('stop, start and restart from the page change the nodes themselves', async () => {
    const { dashboard, pricing } = await cluster();
    const { page, problems } = await openPage(dashboard.url!);
    await row(page, 'pricing').waitFor();

    await page.getByRole('button', { name: 'Stop pricing', exact: true }).click();
    await row(page, 'pricing').and(page.locator('[data-status="stopped"]')).waitFor({ timeout: 5000 });
    expect(pricing.status).toBe('stopped');
    expect(await row(page, 'pricing').locator('.badge').textContent()).toBe('stopped');
    await page.locator('.entry[data-node="pricing"][data-command="stop"][data-state="ok"]').waitFor();
    expect(await page.getByRole('button', { name: 'Stop pricing', exact: true }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Start pricing', exact: true }).click();
    await row(page, 'pricing').and(page.locator('[data-status="started"]')).waitFor({ timeout: 5000 });
    expect(pricing.status).toBe('started');

    // A node in the other process: its status comes back over its dashboard link.
    await page.getByRole('button', { name: 'Stop edge-b', exact: true }).click();
    await row(page, 'edge-b').and(page.locator('[data-status="stopped"]')).waitFor({ timeout: 5000 });
    expect(dashboard.nodes().find((n) => n.name === 'edge-b')?.status).toBe('stopped');
    expect(await page.getByRole('button', { name: 'Restart edge-b', exact: true }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Start edge-b', exact: true }).click();
    await row(page, 'edge-b').and(page.locator('[data-status="started"]')).waitFor({ timeout: 5000 });

    // The "all" buttons make one API call each; "Stop all" asks first.
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
    });
    await page.getByRole('button', { name: 'Stop all', exact: true }).click();
    const confirm = page.getByRole('dialog', { name: 'Stop all nodes?' });
    await confirm.waitFor({ timeout: 5000 });
    await confirm.getByRole('button', { name: 'Cancel', exact: true }).click();
    await confirm.waitFor({ state: 'detached' });
    expect(posts).toEqual([]);
    expect(dashboard.nodes().map((n) => n.status)).toEqual(['started', 'started', 'started', 'started']);

    await page.getByRole('button', { name: 'Stop all', exact: true }).click();
    await confirm.getByRole('button', { name: 'Stop 4 nodes', exact: true }).click();
    await until(async () => (await page.locator('tr[data-status="stopped"]').count()) === 4, 10_000, 'every row stopped');
    expect(pricing.status).toBe('stopped');
    expect(dashboard.nodes().map((n) => n.status)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
    await page.getByRole('button', { name: 'Start all', exact: true }).click();
    await until(async () => (await page.locator('tr[data-status="started"]').count()) === 4, 10_000, 'every row started');
    expect(pricing.status).toBe('started');

    let pricingStops = 0;
    pricing.on('status', (status) => {
      if (status === 'stopped') pricingStops++;
    });
    await page.getByRole('button', { name: 'Restart all', exact: true }).click();
    await page.locator('.entry[data-node="all nodes"][data-command="restart"][data-state="ok"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('.entry[data-command="restart"][data-state="ok"] .entry-body').first().textContent()).toContain(
      'pricing: node pricing restarted',
    );
    expect(pricingStops).toBe(1);
    expect(pricing.status).toBe('started');
    expect(posts).toEqual(['/api/nodes/stop', '/api/nodes/start', '/api/nodes/restart']);
    expect(problems).toEqual([]);
  }, 40_000);

  it('runs a typed command and shows its real result, or a readable error', async () => {
    const { dashboard } = await cluster();
    const { page, problems } = await openPage(dashboard.url!);
    await row(page, 'edge-b').waitFor();

    await page.getByLabel('Node', { exact: true }).selectOption('edge-b');
    await expect
      .poll(() => page.locator('#console-commands option').evaluateAll((o) => o.map((e) => e.getAttribute('value'))))
      .toContain('send');
    await page.getByLabel('Command', { exact: true }).fill('send');
    await page.getByLabel('Arguments').fill('25');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const sent = page.locator('.entry[data-node="edge-b"][data-command="send"]').first();
    await sent.and(page.locator('[data-state="ok"]')).waitFor();
    expect(await sent.locator('.entry-body').textContent()).toBe('sent 25');
    expect(await sent.locator('time').textContent()).toMatch(/^\d\d:\d\d:\d\d$/);

    await page.getByLabel('Node', { exact: true }).selectOption('edge-a');
    await page.getByLabel('Command', { exact: true }).fill('worked');
    await page.getByLabel('Arguments').fill('');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const worked = page.locator('.entry[data-node="edge-a"][data-command="worked"][data-state="ok"]').first();
    await worked.waitFor();
    expect(Number(await worked.locator('.entry-body').textContent())).toBeGreaterThanOrEqual(0);

    await page.getByLabel('Command', { exact: true }).fill('fail');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const failed = page.locator('.entry[data-node="edge-a"][data-command="fail"]').first();
    await failed.and(page.locator('[data-state="error"]')).waitFor();
    expect(await failed.locator('.error-text').textContent()).toContain('this command always fails');
    expect(await failed.locator('.error-code').textContent()).toBe('SYSTEMGE_ERR_DASHBOARD_COMMAND_FAILED');

    // Data (here the node's counters) is shown as indented JSON.
    await page.getByLabel('Command', { exact: true }).fill('stats');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const stats = page.locator('.entry[data-node="edge-a"][data-command="stats"][data-state="ok"]').first();
    await stats.waitFor();
    const statsText = (await stats.locator('.entry-body').textContent()) ?? '';
    expect(JSON.parse(statsText)).toMatchObject({ asyncReceived: expect.any(Number) });
    expect(statsText).toContain('\n  "asyncSent": ');

    await page.getByLabel('Command', { exact: true }).fill('nope');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const unknown = page.locator('.entry[data-node="edge-a"][data-command="nope"]').first();
    await unknown.and(page.locator('[data-state="error"]')).waitFor();
    expect(await unknown.locator('.error-text').textContent()).toMatch(/nope/);
    expect(await page.locator('.entry').count()).toBe(5);
    expect(problems).toEqual([]);
  });

  it('feeds the charts of each node and of the total while messages flow', async () => {
    const { dashboard, gateway } = await cluster(100);
    traffic(gateway);
    const { page, problems } = await openPage(dashboard.url!);
    await page.waitForFunction(
      () => {
        const hook = window.systemgeDashboard;
        const g = hook.series('gateway');
        const p = hook.series('pricing');
        const a = hook.series('edge-a');
        const total = hook.series('*');
        return (
          g !== undefined &&
          p !== undefined &&
          a !== undefined &&
          total !== undefined &&
          g['messagesOut']!.some((v) => (v ?? 0) > 0) &&
          g['syncSent']!.some((v) => (v ?? 0) > 0) &&
          g['latencyP99']!.some((v) => v !== null) &&
          p['syncReceived']!.some((v) => (v ?? 0) > 0) &&
          a['messagesIn']!.some((v) => (v ?? 0) > 0) &&
          total['messagesOut']!.some((v) => (v ?? 0) > 0) &&
          total['heap']!.some((v) => (v ?? 0) > 0)
        );
      },
      undefined,
      { timeout: 10_000 },
    );
    const totalPoints = Number(await page.locator('figure[data-chart="messages"]').getAttribute('data-points'));
    expect(totalPoints).toBeGreaterThan(0);

    await page.getByLabel('Show').selectOption('gateway');
    const gatewayPoints = await page.evaluate(() => window.systemgeDashboard.series('gateway')!['t']!.length);
    for (const chart of ['messages', 'bytes', 'sync', 'latency', 'connections', 'heap', 'lag', 'rejected']) {
      expect(Number(await page.locator(`figure[data-chart="${chart}"]`).getAttribute('data-points')), chart).toBeGreaterThanOrEqual(
        gatewayPoints,
      );
    }
    // gateway dialed edge-a and pricing, and nobody dialed gateway.
    expect(await page.locator('figure[data-chart="connections"] .chart-legend strong').allTextContents()).toEqual(['0', '2']);
    expect(problems).toEqual([]);
  });

  it('draws who dialed whom and follows changes live', async () => {
    const { dashboard, pricing } = await cluster();
    await until(async () => (await edgeCount(dashboard)) === 3, 5000, 'three edges');
    const { page, problems } = await openPage(dashboard.url!);
    const edges = async (): Promise<string[]> =>
      (
        await page
          .locator('line.edge')
          .evaluateAll((lines) => lines.map((l) => `${l.getAttribute('data-from')}->${l.getAttribute('data-to')}`))
      ).sort();
    await expect.poll(edges).toEqual(['edge-b->edge-a', 'gateway->edge-a', 'gateway->pricing']);
    expect(await page.locator('g.vertex').count()).toBe(4);
    expect(await page.locator('#topology-desc').textContent()).toContain('gateway dialed pricing');

    await pricing.stop();
    await expect.poll(edges).toEqual(['edge-b->edge-a', 'gateway->edge-a']);
    expect(await page.locator('g.vertex[data-node="pricing"]').getAttribute('data-status')).toBe('stopped');
    expect(problems).toEqual([]);
  });

  it('shows a banner when the dashboard goes away and reconnects by itself', async () => {
    const first = await startDashboard();
    const node = await startNode({ name: 'solo' });
    first.addNode(node);
    const port = Number(new URL(first.url!).port);
    const { page, problems } = await openPage(first.url!);
    await row(page, 'solo').waitFor();

    await first.stop();
    const banner = page.getByRole('alert').filter({ hasText: 'Connection to the dashboard lost' });
    await banner.waitFor({ timeout: 5000 });
    expect(await page.locator('.live').getAttribute('data-state')).toMatch(/lost|connecting/);
    await page.getByRole('button', { name: 'Stop solo', exact: true }).click();
    await page.locator('.toast.error').filter({ hasText: 'Could not stop solo' }).waitFor();

    const second: Dashboard = createDashboard({ port, metricsIntervalMs: 100 });
    onCleanup(() => second.stop());
    await second.start();
    second.addNode(node);
    await page.locator('.live[data-state="live"]').waitFor({ timeout: 15_000 });
    await banner.waitFor({ state: 'hidden' });
    await row(page, 'solo').and(page.locator('[data-status="started"]')).waitFor();
    expect(problems).toEqual([]);
  }, 30_000);

  it('asks for the token when the dashboard has one, and keeps it out of URLs', async () => {
    const dashboard = await startDashboard({ token: TOKEN });
    dashboard.addNode(await startNode({ name: 'guarded' }));
    const { page, problems } = await openPage(dashboard.url!);
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));

    const tokenField = page.getByLabel('Dashboard token');
    await tokenField.waitFor();
    expect(await page.locator('tr[data-node]').count()).toBe(0);
    expect(await page.locator('main.layout').isHidden()).toBe(true);

    await tokenField.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'rejected' }).waitFor();
    expect(await page.locator('tr[data-node]').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}login-desktop.png` });

    await tokenField.fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await row(page, 'guarded').and(page.locator('[data-status="started"]')).waitFor();
    expect(page.url()).not.toContain(TOKEN);
    expect(urls.filter((u) => u.includes(TOKEN))).toEqual([]);

    // The token lasts for the tab's session: a reload stays signed in.
    await page.reload();
    await row(page, 'guarded').waitFor();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await tokenField.waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(urls.filter((u) => u.includes(TOKEN))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('reads well on a laptop and on a phone, with every control labeled', async () => {
    const { dashboard, gateway } = await cluster(250);
    traffic(gateway);
    const desktop = await openPage(dashboard.url!, DESKTOP);
    const page = desktop.page;
    await page.getByLabel('Node', { exact: true }).selectOption('edge-b');
    await page.getByLabel('Command', { exact: true }).fill('send');
    await page.getByLabel('Arguments').fill('100');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.entry[data-state="ok"]').waitFor();
    await page.getByLabel('Command', { exact: true }).fill('connections');
    await page.getByLabel('Arguments').fill('');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.entry[data-command="connections"][data-state="ok"]').waitFor();
    await page.waitForFunction(() => (window.systemgeDashboard.series('*')?.['t']?.length ?? 0) >= 24, undefined, { timeout: 15_000 });

    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('button, input, select')]
        .filter((e) => !(e.textContent?.trim() || e.getAttribute('aria-label') || (e as HTMLInputElement).labels?.length))
        .map((e) => e.outerHTML),
    );
    expect(unlabeled).toEqual([]);
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    await expectCleanCharts(page, 'desktop');
    await expectArrowsClearOfLabels(page);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-desktop.png` });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-desktop-full.png`, fullPage: true });
    if (process.env.SYSTEMGE_UPDATE_SCREENSHOT === '1') await copyFile(`${ARTIFACTS}dashboard-desktop.png`, DOCS_SCREENSHOT);

    const phone = await openPage(dashboard.url!, PHONE);
    await phone.page.waitForFunction(() => (window.systemgeDashboard.series('*')?.['t']?.length ?? 0) >= 4);
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const stopBox = await phone.page.getByRole('button', { name: 'Stop gateway', exact: true }).boundingBox();
    expect(stopBox!.x + stopBox!.width).toBeLessThanOrEqual(PHONE.width);
    await phone.page.waitForFunction(() => (window.systemgeDashboard.series('*')?.['t']?.length ?? 0) >= 8, undefined, { timeout: 15_000 });
    await expectCleanCharts(phone.page, 'phone');
    await expectArrowsClearOfLabels(phone.page);
    await phone.page.screenshot({ path: `${ARTIFACTS}dashboard-phone.png` });
    await phone.page.screenshot({ path: `${ARTIFACTS}dashboard-phone-full.png`, fullPage: true });
    if (process.env.SYSTEMGE_UPDATE_SCREENSHOT === '1') await copyFile(`${ARTIFACTS}dashboard-phone-full.png`, DOCS_SCREENSHOT_PHONE);
    expect([...desktop.problems, ...phone.problems]).toEqual([]);
  }, 40_000);
});
