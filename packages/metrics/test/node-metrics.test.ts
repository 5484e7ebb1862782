import { Counter, Registry } from 'prom-client';
import { NODE_METRICS, SYNC_LATENCY_BUCKETS_MS, type NodePlugin, type NodeStats, type PluginMetric } from '@systemge/node';
import { describe, expect, it } from 'vitest';
import { DuplicateMetricError, InvalidMetricOptionError, nodeMetricNames, nodeMetrics } from '../src/index.js';
import { sample, startNode, until } from './helpers.js';

describe('nodeMetrics on a prom-client registry', () => {
  it('puts node metrics with a node label beside the application metrics of the caller registry', async () => {
    const registry = new Registry();
    const own = new Counter({ name: 'app_things_total', help: 'Things.', registers: [registry] });
    own.inc(2);
    const a = await startNode({ name: 'a' }, { getSyncMessageHandlers: () => ({ echo: (m) => String(m.payload) }) });
    const b = await startNode({ name: 'b', endpoints: [a.address!] });
    const metrics = nodeMetrics([a, b], { registry });
    expect(metrics.registry).toBe(registry);
    for (let i = 0; i < 3; i++) expect(await b.syncRequest('echo', `m${i}`).first()).toBe(`m${i}`);
    b.asyncMessage('nobody', 'x');
    await until(() => a.stats.syncResponsesSent === 3);

    const text = await registry.metrics();
    expect(sample(text, 'app_things_total')).toBe(2);
    expect(sample(text, 'systemge_messages_sent_total{node="b",kind="sync_request"}')).toBe(3);
    expect(sample(text, 'systemge_messages_received_total{node="a",kind="sync_request"}')).toBe(3);
    expect(sample(text, 'systemge_messages_sent_total{node="a",kind="sync_response"}')).toBe(3);
    expect(sample(text, 'systemge_messages_rejected_total{node="b",reason="unrouted"}')).toBe(1);
    expect(sample(text, 'systemge_bytes_sent_total{node="b"}')).toBe(b.stats.bytesOut);
    expect(sample(text, 'systemge_connections_out{node="b"}')).toBe(1);
    expect(sample(text, 'systemge_connections_in{node="a"}')).toBe(1);
    expect(sample(text, 'systemge_topic_messages_sent_total{node="b",topic="echo"}')).toBe(3);
    // The histogram carries the node's own per-bucket counts, cumulated, with +Inf, sum and count.
    expect(sample(text, 'systemge_sync_latency_ms_bucket{node="b",le="+Inf"}')).toBe(3);
    expect(sample(text, 'systemge_sync_latency_ms_count{node="b"}')).toBe(3);
    expect(sample(text, `systemge_sync_latency_ms_bucket{node="b",le="${SYNC_LATENCY_BUCKETS_MS.at(-1)}"}`)).toBeLessThanOrEqual(3);
    expect(sample(text, 'systemge_process_heap_used_bytes{node="a"}')).toBeGreaterThan(0);
    metrics.stop();
  });

  it('exposes every NODE_METRICS entry under its declared name, type and labels', async () => {
    const a = await startNode({ name: 'a' });
    const { registry } = nodeMetrics(a);
    const json = await registry.getMetricsAsJSON();
    const byName = new Map(json.map((m) => [m.name, m]));
    for (const [key, spec] of Object.entries(NODE_METRICS)) {
      const metric = byName.get(`systemge_${spec.metric}`);
      expect(metric?.type, key).toBe(spec.type);
      if (spec.type === 'histogram') continue;
      const labels = { node: 'a', ...('labels' in spec ? spec.labels : {}) };
      expect(metric?.values, key).toContainEqual(
        expect.objectContaining({ labels, value: (a.stats as unknown as Record<string, number>)[key] }),
      );
    }
    for (const m of nodeMetricNames()) expect(byName.has(`systemge_${m.name}`), m.name).toBe(true);
  });

  it('reads each node once per scrape, whatever the number of metrics, and never between scrapes (nor per message)', async () => {
    const a = await startNode({ name: 'a' });
    let reads = 0;
    const metrics = nodeMetrics([], { processMetrics: false });
    metrics.addReader('counted', () => {
      reads++;
      return { stats: a.stats };
    });
    // One read when added (to register the plugin metrics it reports), then one per scrape.
    expect(reads).toBe(1);
    for (let i = 0; i < 100; i++) a.asyncMessage('nobody', 'x');
    expect(reads).toBe(1);
    await metrics.registry.metrics();
    expect(reads).toBe(2);
    await metrics.registry.getMetricsAsJSON();
    expect(reads).toBe(3);
    expect(sample(await metrics.registry.metrics(), 'systemge_messages_rejected_total{node="counted",reason="unrouted"}')).toBe(100);
  });

  it('turns plugin samples into metrics with node and plugin labels, not label syntax in names', async () => {
    let hits = 0;
    const plugin: NodePlugin = {
      name: 'shop',
      start: () => {},
      stop: () => {},
      getMetrics: (): PluginMetric[] => [
        { name: 'shop_orders_total', help: 'Orders.', type: 'counter', labels: { region: 'eu' }, value: hits },
        { name: 'shop_orders_total', help: 'Orders.', type: 'counter', labels: { region: 'us' }, value: 2 * hits },
        { name: 'shop_open_carts', help: 'Open carts.', type: 'gauge', value: 7 },
        { name: 'bad name{x="1"}', help: 'Refused.', type: 'counter', value: 1 },
        { name: 'shop_node_clash', help: 'Refused.', type: 'gauge', labels: { node: 'x' }, value: 1 },
      ],
    };
    const a = await startNode({ name: 'a' }, {}, { plugins: [plugin] });
    const { registry } = nodeMetrics(a);
    hits = 5;
    const text = await registry.metrics();
    expect(sample(text, 'systemge_shop_orders_total{region="eu",node="a",plugin="shop"}')).toBe(5);
    expect(sample(text, 'systemge_shop_orders_total{region="us",node="a",plugin="shop"}')).toBe(10);
    expect(sample(text, 'systemge_shop_open_carts{node="a",plugin="shop"}')).toBe(7);
    expect(text).not.toContain('bad');
    expect(text).not.toContain('shop_node_clash');
  });

  it('serves several nodes from readers, drops a removed one, and leaves out a reading of undefined', async () => {
    const stats = (asyncSent: number): NodeStats => {
      const s = Object.fromEntries(Object.entries(NODE_METRICS).map(([k]) => [k, 0])) as unknown as NodeStats;
      return {
        ...s,
        asyncSent,
        syncLatencyBuckets: new Array<number>(SYNC_LATENCY_BUCKETS_MS.length + 1).fill(0),
        syncLatencySumMs: 0,
        syncLatencyCount: 0,
        topics: {},
      };
    };
    const metrics = nodeMetrics([], { processMetrics: false, prefix: 'x_' });
    metrics.addReader('one', () => ({ stats: stats(1) }));
    metrics.addReader('two', () => ({ stats: stats(2) }));
    metrics.addReader('gone', () => undefined);
    expect(() => metrics.addReader('one', () => undefined)).toThrow(expect.objectContaining({ code: DuplicateMetricError.code }));
    let text = await metrics.registry.metrics();
    expect(sample(text, 'x_messages_sent_total{node="one",kind="async"}')).toBe(1);
    expect(sample(text, 'x_messages_sent_total{node="two",kind="async"}')).toBe(2);
    expect(text).not.toContain('node="gone"');
    expect(metrics.remove('one')).toBe(true);
    expect(metrics.remove('one')).toBe(false);
    text = await metrics.registry.metrics();
    expect(text).not.toContain('node="one"');
    expect(metrics.nodes()).toEqual(['two', 'gone']);
  });

  it('refuses a registry that already has its names, leaving the registry as it was', async () => {
    const registry = new Registry();
    const first = nodeMetrics([], { registry, processMetrics: false });
    const count = (await registry.getMetricsAsJSON()).length;
    let error: unknown;
    try {
      nodeMetrics([], { registry });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: DuplicateMetricError.code, metric: 'systemge_messages_sent_total' });
    expect((error as Error).message).toContain('systemge_messages_sent_total');
    expect((await registry.getMetricsAsJSON()).length).toBe(count);
    // Another prefix fits beside it.
    const second = nodeMetrics([], { registry, prefix: 'other_', processMetrics: false });
    second.stop();
    first.stop();
    first.stop();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });

  it('refuses a prefix that is not a Prometheus name start', () => {
    expect(() => nodeMetrics([], { prefix: 'bad-prefix' })).toThrow(
      expect.objectContaining({ code: InvalidMetricOptionError.code, message: expect.stringContaining('"bad-prefix"') }),
    );
  });

  it('adds prom-client default process metrics only when asked', async () => {
    const without = nodeMetrics([], { processMetrics: false });
    expect(await without.registry.metrics()).not.toContain('process_cpu_user_seconds_total');
    const withDefaults = nodeMetrics([], { defaultMetrics: true, processMetrics: false });
    expect(await withDefaults.registry.metrics()).toContain('process_cpu_user_seconds_total');
  });
});
