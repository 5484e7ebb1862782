import { tcpTransport } from '@systemge/transport-tcp';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { Dashboard, DashboardNodeSummary } from '../src/index.js';
import { forkRemoteNodes, openFeed, startDashboard, startNode, until, type FeedMessage } from './helpers.js';

const TOKEN = 'remote-test-token.0123456789';

async function api(dashboard: Dashboard, method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await request(`${dashboard.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** A dashboard with remote links on, one local node, and a second process with two linked nodes. */
async function setup() {
  const dashboard = await startDashboard({
    token: TOKEN,
    systemge: { transport: tcpTransport(), heartbeat: { intervalMs: 200, timeoutMs: 600 } },
  });
  dashboard.addNode(await startNode({ name: 'local-1' }));
  const remote = await forkRemoteNodes({ dashboardPort: dashboard.systemgeAddress!.port, token: TOKEN, prefix: 'remote-' });
  await until(() => dashboard.nodes().filter((n) => n.status === 'started').length === 3, 10_000, 'three started nodes');
  return { dashboard, remote };
}

const byName = (nodes: DashboardNodeSummary[], name: string) => nodes.find((n) => n.name === name);

describe('nodes in two processes on one dashboard', () => {
  it('lists local and remote nodes over a real socket and runs commands on a remote node', async () => {
    const { dashboard, remote } = await setup();
    const list = await api(dashboard, 'GET', '/api/nodes');
    expect(list.status).toBe(200);
    const nodes = list.json()['nodes'] as DashboardNodeSummary[];
    expect(nodes.map((n) => [n.name, n.kind, n.status]).sort()).toEqual([
      ['local-1', 'local', 'started'],
      ['remote-a', 'remote', 'started'],
      ['remote-b', 'remote', 'started'],
    ]);
    expect(byName(nodes, 'remote-a')?.address?.port).toBeGreaterThan(0);

    const details = (await api(dashboard, 'GET', '/api/nodes/remote-a')).json();
    expect(details).toMatchObject({ name: 'remote-a', kind: 'remote', topics: { asyncTopics: ['work'] } });
    expect(details['commands']).toEqual(expect.arrayContaining(['fail', 'worked', 'stop']));
    expect((details['process'] as { pid: number }).pid).toBe(remote.pid);

    const sent = await api(dashboard, 'POST', '/api/nodes/remote-b/command', { command: 'send', args: ['40'] });
    expect(sent.status).toBe(200);
    expect(sent.json()).toEqual({ result: 'sent 40' });
    await until(
      async () => (await api(dashboard, 'POST', '/api/nodes/remote-a/command', { command: 'worked' })).json()['result'] === '40',
      5000,
      'remote-a to count 40 messages',
    );

    // Data crosses the link as data: the API's result is the stats object itself.
    const stats = (await api(dashboard, 'POST', '/api/nodes/remote-b/command', { command: 'stats' })).json();
    expect(stats['result']).toMatchObject({ asyncSent: 40 });

    const unknown = await api(dashboard, 'POST', '/api/nodes/remote-a/command', { command: 'nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'SYSTEMGE_ERR_UNKNOWN_COMMAND', commands: expect.arrayContaining(['worked']) });
    const failing = await api(dashboard, 'POST', '/api/nodes/remote-a/command', { command: 'fail' });
    expect(failing.status).toBe(500);
    expect(failing.json()).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_COMMAND_FAILED' });
    expect(failing.json()['error']).toContain('this command always fails');
    expect((await api(dashboard, 'GET', '/api/health')).json()).toMatchObject({ status: 'ok', nodes: 3 });
  });

  it('pushes nodes, topology, metrics, status and command results over /ws', async () => {
    const { dashboard } = await setup();
    const feed = await openFeed(dashboard, { token: TOKEN });
    const first = await feed.next((m) => m.type === 'nodes');
    expect((first['nodes'] as DashboardNodeSummary[]).map((n) => n.name).sort()).toEqual(['local-1', 'remote-a', 'remote-b']);
    await feed.next(
      (m) =>
        m.type === 'topology' && (m['edges'] as { from: string; to: string }[]).some((e) => e.from === 'remote-b' && e.to === 'remote-a'),
      5000,
      'topology edge remote-b → remote-a',
    );
    const metrics = await feed.next((m) => m.type === 'metrics' && m['name'] === 'remote-a', 5000, 'remote-a metrics');
    expect(metrics['summary']).toMatchObject({ connectionsIn: 1 });
    expect((metrics['summary'] as { heapUsedBytes: number }).heapUsedBytes).toBeGreaterThan(0);
    expect(metrics['timestamp']).toEqual(expect.any(Number));

    const mark = feed.messages.length;
    const stop = await api(dashboard, 'POST', '/api/nodes/remote-a/stop');
    expect(stop.json()).toEqual({ result: 'node remote-a stopped' });
    const isStatus = (status: string) => (m: FeedMessage) => m.type === 'status' && m['name'] === 'remote-a' && m['status'] === status;
    await feed.next(isStatus('stopped'), 5000, 'remote-a stopped', mark);
    await feed.next(
      (m) => m.type === 'command' && m['command'] === 'stop' && m['result'] === 'node remote-a stopped',
      5000,
      'command message',
      mark,
    );
    expect(byName(dashboard.nodes(), 'remote-a')?.status).toBe('stopped');

    const mark2 = feed.messages.length;
    await api(dashboard, 'POST', '/api/nodes/remote-a/start');
    await feed.next(isStatus('started'), 5000, 'remote-a started', mark2);

    // Commands sent by a feed client run too; the outcome comes back with its id.
    feed.send({ type: 'command', id: 7, name: 'remote-b', command: 'send', args: ['3'] });
    const reply = await feed.next((m) => m.type === 'command' && m['id'] === 7, 5000, 'command reply');
    expect(reply).toMatchObject({ name: 'remote-b', command: 'send', result: 'sent 3' });
    feed.send({ type: 'command', id: 8, name: 'ghost', command: 'status' });
    expect(await feed.next((m) => m['id'] === 8)).toMatchObject({ type: 'error', code: 'SYSTEMGE_ERR_DASHBOARD_UNKNOWN_NODE' });
    feed.socket.send('{not json');
    expect(await feed.next((m) => m.type === 'error' && m['id'] === undefined)).toMatchObject({
      code: 'SYSTEMGE_ERR_DASHBOARD_BAD_REQUEST',
    });
  });

  it('marks remote nodes disconnected when their process dies, and shows them again when they come back', async () => {
    const { dashboard, remote } = await setup();
    const feed = await openFeed(dashboard, { token: TOKEN });
    const mark = feed.messages.length;
    const killedAt = Date.now();
    await remote.kill();
    for (const name of ['remote-a', 'remote-b']) {
      await feed.next(
        (m) => m.type === 'status' && m['name'] === name && m['status'] === 'disconnected',
        2000,
        `${name} disconnected`,
        mark,
      );
    }
    // Within the link heartbeat timeout (600 ms) plus its interval, with room for a slow machine.
    expect(Date.now() - killedAt).toBeLessThan(2000);
    const listed = (await api(dashboard, 'GET', '/api/nodes')).json()['nodes'] as DashboardNodeSummary[];
    expect(byName(listed, 'remote-a')).toMatchObject({ status: 'disconnected', connections: 0 });
    expect(byName(listed, 'local-1')?.status).toBe('started');
    const command = await api(dashboard, 'POST', '/api/nodes/remote-a/command', { command: 'worked' });
    expect(command.status).toBe(503);
    expect(command.json()).toMatchObject({ code: 'SYSTEMGE_ERR_DASHBOARD_NODE_UNAVAILABLE' });

    const mark2 = feed.messages.length;
    await forkRemoteNodes({ dashboardPort: dashboard.systemgeAddress!.port, token: TOKEN, prefix: 'remote-' });
    for (const name of ['remote-a', 'remote-b']) {
      await feed.next((m) => m.type === 'status' && m['name'] === name && m['status'] === 'started', 5000, `${name} back`, mark2);
    }
    expect(dashboard.nodes()).toHaveLength(3);
  });

  it('exposes remote nodes in /metrics with values that move when messages flow', async () => {
    const { dashboard } = await setup();
    const received = async (): Promise<number> => {
      const response = await api(dashboard, 'GET', '/metrics');
      expect(response.status).toBe(200);
      const family = parsePrometheusTextFormat(response.text).find((f) => f.name === 'systemge_messages_received_total');
      const sample = family?.metrics.find((m) => m.labels?.['node'] === 'remote-a' && m.labels['kind'] === 'async');
      return Number(sample?.value ?? 0);
    };
    const before = await received();
    await api(dashboard, 'POST', '/api/nodes/remote-b/command', { command: 'send', args: ['30'] });
    await until(async () => (await received()) >= before + 30, 5000, 'remote-a received count to grow by 30');
    const text = (await api(dashboard, 'GET', '/metrics')).text;
    const names = new Set(parsePrometheusTextFormat(text).map((f) => f.name));
    for (const name of [
      'systemge_bytes_received_total',
      'systemge_sync_latency_ms',
      'systemge_connections_out',
      'systemge_process_heap_used_bytes',
    ]) {
      expect(names.has(name), name).toBe(true);
    }
    expect(text).toMatch(/systemge_topic_messages_received_total\{node="remote-a",topic="work"\} \d+/);
    expect(text).toMatch(/systemge_connections_out\{node="remote-b"\} 1/);
  });
});
