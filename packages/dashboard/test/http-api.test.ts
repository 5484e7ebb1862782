import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import type { Dashboard } from '../src/index.js';
import { startDashboard, startNode, until } from './helpers.js';

async function twoLocalNodes(dashboard: Dashboard) {
  let received = 0;
  const server = await startNode(
    { name: 'alpha' },
    {
      getAsyncMessageHandlers: () => ({
        ping: () => {
          received++;
        },
      }),
      getCommandHandlers: () => ({
        echo: (args: string[]) => args.join(' '),
        explode: () => {
          throw new Error('kaboom');
        },
      }),
    },
  );
  // One attempt: after alpha restarts on a new port, beta's start must not wait out a backoff on the old one.
  const client = await startNode({
    name: 'beta',
    listen: false,
    endpoints: [{ host: '127.0.0.1', port: server.address!.port }],
    connection: { maxAttempts: 1 },
  });
  dashboard.addNode(server);
  dashboard.addNode(client);
  return { server, client, received: () => received };
}

function json(response: { body: string }): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

describe('HTTP API (inject)', () => {
  it('lists nodes with status, address, uptime and a metrics summary', async () => {
    const dashboard = await startDashboard();
    const { server } = await twoLocalNodes(dashboard);
    const response = await dashboard.inject('/api/nodes');
    expect(response.statusCode).toBe(200);
    const { nodes } = json(response) as { nodes: Record<string, unknown>[] };
    expect(nodes.map((n) => n['name'])).toEqual(['alpha', 'beta']);
    expect(nodes[0]).toMatchObject({ kind: 'local', status: 'started', address: server.address, connections: 1 });
    expect(nodes[0]!['uptimeMs']).toBeGreaterThanOrEqual(0);
    await until(() => dashboard.nodes().every((n) => n.metrics !== null), 5000, 'first metrics interval');
    const again = json(await dashboard.inject('/api/nodes')) as { nodes: { metrics: Record<string, unknown> }[] };
    expect(again.nodes[0]!.metrics).toMatchObject({ connectionsIn: 1, connectionsOut: 0 });
  });

  it('gives one node in full: connections, topics, commands, stats', async () => {
    const dashboard = await startDashboard();
    await twoLocalNodes(dashboard);
    const details = json(await dashboard.inject('/api/nodes/alpha'));
    expect(details).toMatchObject({ name: 'alpha', status: 'started', topics: { asyncTopics: ['ping'] } });
    expect(details['commands']).toEqual(expect.arrayContaining(['echo', 'explode', 'start', 'stop', 'status']));
    expect((details['peers'] as { name: string }[]).map((p) => p.name)).toEqual(['beta']);
    expect(details['stats']).toMatchObject({ connectionsIn: 1 });
  });

  it('runs a command and returns its result', async () => {
    const dashboard = await startDashboard();
    await twoLocalNodes(dashboard);
    const response = await dashboard.inject({
      method: 'POST',
      url: '/api/nodes/alpha/command',
      payload: { command: 'echo', args: ['hello', 'world'] },
    });
    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ result: 'hello world' });
  });

  it('returns the data of stats, connections and topics as JSON values, not JSON text', async () => {
    const dashboard = await startDashboard();
    await twoLocalNodes(dashboard);
    const run = async (command: string) =>
      json(await dashboard.inject({ method: 'POST', url: '/api/nodes/alpha/command', payload: { command } }))['result'];
    expect(await run('stats')).toMatchObject({ connectionsIn: 1 });
    expect(await run('connections')).toEqual([expect.objectContaining({ name: 'beta', direction: 'in' })]);
    expect(await run('topics')).toMatchObject({ handled: { asyncTopics: ['ping'] } });
    expect(await run('commands')).toEqual(expect.arrayContaining(['echo', 'stats']));
  });

  it('answers 404 with the command list for an unknown command, and 404 for an unknown node', async () => {
    const dashboard = await startDashboard();
    await twoLocalNodes(dashboard);
    const unknownCommand = await dashboard.inject({ method: 'POST', url: '/api/nodes/alpha/command', payload: { command: 'nope' } });
    expect(unknownCommand.statusCode).toBe(404);
    const body = json(unknownCommand);
    expect(body['code']).toBe('SYSTEMGE_ERR_UNKNOWN_COMMAND');
    expect(body['commands']).toEqual(expect.arrayContaining(['echo', 'status']));

    for (const request of [
      { method: 'GET' as const, url: '/api/nodes/ghost' },
      { method: 'POST' as const, url: '/api/nodes/ghost/stop' },
      { method: 'POST' as const, url: '/api/nodes/ghost/command', payload: { command: 'status' } },
    ]) {
      const response = await dashboard.inject(request);
      expect(response.statusCode, request.url).toBe(404);
      expect(json(response)).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_UNKNOWN_NODE' });
    }
    const noRoute = await dashboard.inject('/api/nothing-here');
    expect(noRoute.statusCode).toBe(404);
    expect(json(noRoute)).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_NOT_FOUND' });
  });

  it('answers 400 to malformed JSON and to a body of the wrong shape', async () => {
    const dashboard = await startDashboard();
    await twoLocalNodes(dashboard);
    const malformed = await dashboard.inject({
      method: 'POST',
      url: '/api/nodes/alpha/command',
      headers: { 'content-type': 'application/json' },
      payload: '{"command": "echo", ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(json(malformed)).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_BAD_REQUEST' });
    for (const payload of [{ args: [] }, { command: 42 }, { command: 'echo', args: 'x' }, { command: 'echo', args: [1] }, [1, 2]]) {
      const response = await dashboard.inject({ method: 'POST', url: '/api/nodes/alpha/command', payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(json(response)).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_BAD_REQUEST' });
    }
    const tooBig = await dashboard.inject({
      method: 'POST',
      url: '/api/nodes/alpha/command',
      payload: { command: 'echo', args: ['x'.repeat(100_000)] },
    });
    expect(tooBig.statusCode).toBe(413);
  });

  it('answers 500 with the message when a command throws, and keeps running', async () => {
    const dashboard = await startDashboard();
    await twoLocalNodes(dashboard);
    const response = await dashboard.inject({ method: 'POST', url: '/api/nodes/alpha/command', payload: { command: 'explode' } });
    expect(response.statusCode).toBe(500);
    expect(json(response)).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_COMMAND_FAILED' });
    expect(json(response)['error']).toContain('kaboom');
    const health = await dashboard.inject('/api/health');
    expect(json(health)).toMatchObject({ status: 'ok', nodes: 2 });
  });

  it('stops, starts and restarts one node, and stops and starts all', async () => {
    const dashboard = await startDashboard();
    const { server, client } = await twoLocalNodes(dashboard);
    const stop = await dashboard.inject({ method: 'POST', url: '/api/nodes/beta/stop' });
    expect(json(stop)).toEqual({ result: 'node beta stopped' });
    expect(client.status).toBe('stopped');
    expect(dashboard.nodes().find((n) => n.name === 'beta')?.status).toBe('stopped');
    await dashboard.inject({ method: 'POST', url: '/api/nodes/beta/start' });
    expect(client.status).toBe('started');
    const restart = await dashboard.inject({ method: 'POST', url: '/api/nodes/alpha/restart' });
    expect(json(restart)).toEqual({ result: 'node alpha restarted' });

    const stopAll = json(await dashboard.inject({ method: 'POST', url: '/api/nodes/stop' }));
    expect(stopAll).toEqual({ results: { alpha: { result: 'node alpha stopped' }, beta: { result: 'node beta stopped' } } });
    expect([server.status, client.status]).toEqual(['stopped', 'stopped']);
    const startAll = json(await dashboard.inject({ method: 'POST', url: '/api/nodes/start' }));
    expect(Object.keys(startAll['results'] as object).sort()).toEqual(['alpha', 'beta']);
    expect(server.status).toBe('started');
  });

  it('restarts every reachable node with one POST /api/nodes/restart', async () => {
    const dashboard = await startDashboard();
    const { server, client } = await twoLocalNodes(dashboard);
    const statuses: string[] = [];
    for (const node of [server, client]) {
      const stop = node.stop.bind(node);
      node.stop = async (...args: Parameters<typeof stop>) => {
        statuses.push(`${node.name} stopping`);
        return stop(...args);
      };
    }
    const restartAll = await dashboard.inject({ method: 'POST', url: '/api/nodes/restart' });
    expect(restartAll.statusCode).toBe(200);
    expect(json(restartAll)).toEqual({ results: { alpha: { result: 'node alpha restarted' }, beta: { result: 'node beta restarted' } } });
    expect(statuses.sort()).toEqual(['alpha stopping', 'beta stopping']);
    expect([server.status, client.status]).toEqual(['started', 'started']);
    expect(dashboard.nodes().map((n) => n.status)).toEqual(['started', 'started']);
  });

  it('exposes every node in one Prometheus text, with values that move when messages flow', async () => {
    const dashboard = await startDashboard();
    const { client, received } = await twoLocalNodes(dashboard);
    const sentBy = async (node: string): Promise<number> => {
      const response = await dashboard.inject('/metrics');
      expect(response.headers['content-type']).toContain('text/plain; version=0.0.4');
      const families = parsePrometheusTextFormat(response.body);
      const family = families.find((f) => f.name === 'systemge_messages_sent_total');
      const sample = family?.metrics.find((m) => m.labels?.['node'] === node && m.labels['kind'] === 'async');
      return Number(sample?.value ?? 0);
    };
    const before = await sentBy('beta');
    for (let i = 0; i < 25; i++) client.asyncMessage('ping', `#${i}`);
    await until(() => received() === 25, 5000, 'messages delivered');
    expect(await sentBy('beta')).toBe(before + 25);

    const text = (await dashboard.inject('/metrics')).body;
    const names = parsePrometheusTextFormat(text).map((f) => f.name);
    for (const name of [
      'systemge_messages_received_total',
      'systemge_bytes_sent_total',
      'systemge_sync_latency_ms',
      'systemge_connections_in',
      'systemge_connection_attempts_total',
      'systemge_messages_rejected_total',
      'systemge_topic_messages_received_total',
    ]) {
      expect(names).toContain(name);
    }
    expect(text).toContain('systemge_topic_messages_received_total{node="alpha",topic="ping"} 25');
    // One HELP line per family even with two nodes.
    expect(text.match(/^# HELP systemge_messages_sent_total /gm)).toHaveLength(1);
  });

  it('serves a page at / and adds no CORS header', async () => {
    const dashboard = await startDashboard();
    const page = await dashboard.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('Systemge dashboard');
    const api = await dashboard.inject({ url: '/api/nodes', headers: { origin: 'http://localhost:80' } });
    expect(api.statusCode).toBe(200);
    expect(api.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await dashboard.inject({ method: 'OPTIONS', url: '/api/nodes/stop', headers: { origin: 'http://localhost:80' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('removes a node and rejects a duplicate name', async () => {
    const dashboard = await startDashboard();
    const { server } = await twoLocalNodes(dashboard);
    expect(() => dashboard.addNode(server)).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_DASHBOARD_DUPLICATE_NODE' }));
    expect(dashboard.removeNode('alpha')).toBe(true);
    expect(dashboard.removeNode('alpha')).toBe(false);
    expect((await dashboard.inject('/api/nodes/alpha')).statusCode).toBe(404);
    expect(dashboard.nodes().map((n) => n.name)).toEqual(['beta']);
  });
});
