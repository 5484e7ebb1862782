/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Callbacks given to page.evaluate / waitForFunction run in the browser, hence the DOM types.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { NODE_METRICS } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkRemoteNodes, onCleanup, startDashboard, startNode, until } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_INDEX = fileURLToPath(new URL('../dist/ui/index.html', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
// CI installs Chromium and never skips.
const haveBrowser = existsSync(CHROMIUM) || process.env.CI === 'true';

let browser: Browser;

beforeAll(async () => {
  if (!haveBrowser) return;
  if (!existsSync(UI_INDEX)) throw new Error(`the UI is not built (${UI_INDEX} is missing): run pnpm --filter @systemge/dashboard build`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

/** The totals the page shows for a node, by summary key (`data-value` of each cell). */
async function totals(page: Page, node: string): Promise<Record<string, number>> {
  return page
    .locator(`tr[data-totals-node="${node}"] td[data-total]`)
    .evaluateAll((cells) =>
      Object.fromEntries(cells.map((c) => [c.getAttribute('data-total') ?? '', Number(c.getAttribute('data-value') ?? 'NaN')])),
    );
}

describe.skipIf(!haveBrowser)('dashboard page: totals and node details', () => {
  it('shows per-node totals that increase while messages flow, and a detail view listing every counter', async () => {
    const dashboard = await startDashboard({
      metricsIntervalMs: 200,
      systemge: { transport: tcpTransport(), heartbeat: { intervalMs: 200, timeoutMs: 600 } },
    });
    await forkRemoteNodes({ dashboardPort: dashboard.systemgeAddress!.port, prefix: 'edge-' });
    const edgeAddress = () => dashboard.nodes().find((n) => n.name === 'edge-a' && n.status === 'started')?.address ?? undefined;
    await until(
      () => dashboard.nodes().filter((n) => n.status === 'started').length === 2 && edgeAddress() !== undefined,
      10_000,
      'remote nodes',
    );
    const pricing = await startNode(
      { name: 'pricing' },
      { getSyncMessageHandlers: () => ({ quote: (m) => `quote ${String(m.payload)}` }) },
    );
    const edgeA = edgeAddress()!;
    const gateway = await startNode({
      name: 'gateway',
      endpoints: [
        { host: '127.0.0.1', port: edgeA.port },
        { host: '127.0.0.1', port: pricing.address!.port },
      ],
    });
    dashboard.addNode(gateway);
    dashboard.addNode(pricing);
    let n = 0;
    const timer = setInterval(() => {
      if (gateway.status !== 'started' || gateway.peers().length < 2) return;
      for (let i = 0; i < 5; i++) gateway.asyncMessage('work', `job ${n++}`);
      void gateway
        .syncRequest('quote', `q${n}`)
        .first()
        .catch(() => {});
    }, 20);
    onCleanup(() => clearInterval(timer));

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    onCleanup(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(dashboard.url!);
    await page.locator('.live[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.locator('tr[data-totals-node="gateway"] td[data-total="messagesSent"][data-value]').waitFor({ timeout: 10_000 });

    const first = await totals(page, 'gateway');
    const firstPricing = await totals(page, 'pricing');
    expect(Object.keys(first).sort()).toEqual([
      'bytesReceived',
      'bytesSent',
      'messagesReceived',
      'messagesSent',
      'syncRequestsFailed',
      'syncRequestsServed',
    ]);
    // The totals go up on the page itself, without a reload.
    await page.waitForFunction(
      ([before, beforePricing]) => {
        const value = (node: string, key: string) =>
          Number(document.querySelector(`tr[data-totals-node="${node}"] td[data-total="${key}"]`)?.getAttribute('data-value') ?? 'NaN');
        return (
          value('gateway', 'messagesSent') > before!['messagesSent']! &&
          value('gateway', 'bytesSent') > before!['bytesSent']! &&
          value('pricing', 'syncRequestsServed') > beforePricing!['syncRequestsServed']! &&
          value('edge-a', 'messagesReceived') > 0
        );
      },
      [first, firstPricing] as const,
      { timeout: 15_000 },
    );
    const later = await totals(page, 'gateway');
    expect(later['messagesSent']).toBeGreaterThan(first['messagesSent']!);
    // What the page shows is what the node counted (the page lags by at most a few intervals).
    expect(later['messagesSent']).toBeLessThanOrEqual(gateway.stats.asyncSent + gateway.stats.syncRequestsSent);
    const text = await page.locator('tr[data-totals-node="gateway"] td[data-total="bytesSent"]').textContent();
    expect(text).toMatch(/\d/);

    // The detail view of a remote node lists every counter of NODE_METRICS.
    await page.getByRole('button', { name: 'Details of edge-a' }).click();
    const detail = page.locator('section.node-detail[data-node="edge-a"]');
    await detail.waitFor({ state: 'visible', timeout: 5000 });
    const expected = Object.entries(NODE_METRICS).flatMap(([key, spec]) =>
      spec.type === 'histogram' ? [`${key}Buckets`, `${key}SumMs`, `${key}Count`] : [key],
    );
    await page.waitForFunction(
      (count) => document.querySelectorAll('section.node-detail tr[data-counter]').length >= count,
      expected.length,
      { timeout: 5000 },
    );
    const listed = await detail.locator('tr[data-counter]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-counter')));
    for (const key of expected) expect(listed, key).toContain(key);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.locator('section.totals').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}totals-and-details.png`, fullPage: true });
    // Values sit inside the card, not scrolled out of it by a long row (the latency buckets).
    const card = (await detail.boundingBox())!;
    for (const key of ['asyncReceived', 'syncLatencyBuckets']) {
      const cell = (await detail.locator(`tr[data-counter="${key}"] td`).boundingBox())!;
      expect(cell.x + cell.width, key).toBeLessThanOrEqual(card.x + card.width);
    }
    const asyncReceived = Number((await detail.locator('tr[data-counter="asyncReceived"] td').textContent())?.replace(/,/g, ''));
    expect(asyncReceived).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Close node details' }).click();
    await detail.waitFor({ state: 'hidden', timeout: 5000 });
    expect(problems).toEqual([]);
  }, 90_000);
});
