import type { NodePlugin } from '@systemge/node';
import { tcpTransport } from '@systemge/transport-tcp';
import { describe, expect, it } from 'vitest';
import {
  connectDashboard,
  DASHBOARD_COMMAND_TOPIC,
  DASHBOARD_DESCRIBE_TOPIC,
  describeNode,
  EventLoopProbe,
  type NodeDescription,
  pluginMetricsOf,
} from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

const sample = { name: 'handled_total', help: 'Messages handled.', type: 'counter' as const, labels: { route: 'a' }, value: 7 };
const counting: NodePlugin = {
  name: 'counting',
  start: () => {},
  stop: () => {},
  getStats: () => ({ handled: 7 }),
  getMetrics: () => [sample],
};

describe('describeNode reads only the public node', () => {
  it('reports uptime, plugin counters, plugin samples and process figures', async () => {
    const node = await startNode({ name: 'worker' }, { getCommandHandlers: () => ({ hello: () => 'hi' }) }, { plugins: [counting] });
    await until(() => node.uptimeMs > 0, 5000, 'uptime');
    const probe = new EventLoopProbe();
    try {
      const d = describeNode(node, probe);
      expect(d).toMatchObject({ name: 'worker', status: 'started', address: node.address, plugins: { counting: { handled: 7 } } });
      expect(d.uptimeMs).toBeGreaterThan(0);
      expect(d.pluginMetrics).toEqual({ counting: [sample] });
      expect(pluginMetricsOf(node)).toEqual({ counting: [sample] });
      expect(d.commands).toContain('hello');
      expect(d.process?.pid).toBe(process.pid);
      expect(describeNode(node).process).toBeUndefined();
    } finally {
      probe.stop();
    }
    await node.stop();
    expect(describeNode(node).uptimeMs).toBe(0);
  });

  it('answers a dashboard describe and command over the link', async () => {
    const dashboard = await startNode({ name: 'dashboard' });
    const node = await startNode(
      { name: 'worker', listen: false },
      { getCommandHandlers: () => ({ hello: (args) => `hi ${args.join(' ')}` }) },
      { plugins: [counting] },
    );
    const link = await connectDashboard(node, { ...endpointOf(dashboard), transport: tcpTransport() });
    try {
      await link.ready();
      await until(() => dashboard.peers().some((p) => p.name === 'worker'), 5000, 'link peer');
      const [described] = await dashboard.syncRequest(DASHBOARD_DESCRIBE_TOPIC, '', { to: ['worker'] }).all();
      expect(described?.ok).toBe(true);
      const d = JSON.parse(String(described?.ok === true ? described.payload : '')) as NodeDescription;
      expect(d).toMatchObject({ name: 'worker', status: 'started', plugins: { counting: { handled: 7 } } });
      expect(d.pluginMetrics).toEqual({ counting: [sample] });
      expect(d.uptimeMs).toBeGreaterThanOrEqual(0);
      const [ran] = await dashboard
        .syncRequest(DASHBOARD_COMMAND_TOPIC, JSON.stringify({ command: 'hello', args: ['there'] }), { to: ['worker'] })
        .all();
      expect(ran?.ok === true ? JSON.parse(String(ran.payload)) : ran).toEqual({ result: 'hi there' });
    } finally {
      await link.close();
    }
  });
});
