import { createNode, type NodePlugin, type PluginMetric } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { onCleanup, startDashboard } from './helpers.js';

// Plugin samples carry their labels as data: /metrics labels them, with no label syntax in names.
describe('dashboard /metrics and plugin samples', () => {
  it('serves plugin samples with their labels plus node and plugin, beside the application metrics of a shared registry', async () => {
    let served = 0;
    const plugin: NodePlugin = {
      name: 'api',
      start: () => {},
      stop: () => {},
      getStats: () => ({ requests_total: served }),
      getMetrics: (): PluginMetric[] => [
        {
          name: 'http_requests_total',
          help: 'HTTP requests.',
          type: 'counter',
          labels: { route: 'GET /a/:id', status: '2xx' },
          value: served,
        },
      ],
    };
    const node = createNode({ name: 'web', transport: tcpTransport() }, {}, { plugins: [plugin] });
    onCleanup(() => node.stop());
    await node.start();
    const registry = new Registry();
    const own = new Counter({ name: 'app_orders_total', help: 'Orders.', registers: [registry] });
    own.inc(4);
    const dashboard = await startDashboard({ metricsRegistry: registry });
    dashboard.addNode(node);
    served = 3;
    const text = (await dashboard.inject('/metrics')).body;
    expect(text).toContain('systemge_http_requests_total{route="GET /a/:id",status="2xx",node="web",plugin="api"} 3\n');
    expect(text).toContain('app_orders_total 4\n');
    expect(text).toContain('systemge_messages_sent_total{node="web",kind="async"} 0\n');
    const details = (await dashboard.inject('/api/nodes/web')).json() as { pluginMetrics: Record<string, PluginMetric[]> };
    expect(details.pluginMetrics['api']).toEqual([expect.objectContaining({ name: 'http_requests_total', value: 3 })]);
    // A node no longer shown leaves /metrics.
    dashboard.removeNode('web');
    expect((await dashboard.inject('/metrics')).body).not.toContain('node="web"');
  });
});
