import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { tcpTransport } from '@systemge/transport-tcp';
import { describe, expect, it } from 'vitest';
import { forkRemoteNodes, onCleanup, startDashboard, startNode, until } from './helpers.js';

const PROMETHEUS = '/usr/bin/prometheus';
const GRAFANA_DASHBOARD = new URL('../../../docs/grafana/systemge.json', import.meta.url);
// CI installs the Debian `prometheus` package: there the test must run, never skip.
const available = existsSync(PROMETHEUS) || process.env['CI'] !== undefined;

/** A loopback port nobody listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Calls `attempt` every `everyMs` until it returns a value, or throws after `timeoutMs` with the last reason. */
async function poll<T>(what: string, timeoutMs: number, everyMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await delay(everyMs);
  }
}

/** Starts a real Prometheus scraping `target` every second; stopped after the test. */
async function startPrometheus(target: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'systemge-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: systemge-dashboard',
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  let output = '';
  const child = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  await poll('Prometheus to be ready', 30_000, 100, async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output}`);
    return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
  });
  return url;
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(prometheus: string, promql: string): Promise<VectorSample[]> {
  const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; data?: { resultType: string; result: VectorSample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query failed: ${body.error}`);
  return body.data!.result;
}

describe('a real Prometheus scraping the dashboard', () => {
  it.skipIf(!available)(
    'gets a non-zero message rate per node, labelled by node, for 3 nodes in 2 processes',
    async () => {
      const dashboard = await startDashboard({ systemge: { transport: tcpTransport(), heartbeat: { intervalMs: 200, timeoutMs: 600 } } });
      const local = await startNode({ name: 'local-1' });
      dashboard.addNode(local);
      await forkRemoteNodes({ dashboardPort: dashboard.systemgeAddress!.port, prefix: 'remote-' });
      await until(() => dashboard.nodes().filter((n) => n.status === 'started').length === 3, 10_000, 'three started nodes');
      // local-1 dials remote-a too, so every node sends or receives messages.
      const remoteA = dashboard.nodes().find((n) => n.name === 'remote-a');
      await local.connect({ host: '127.0.0.1', port: remoteA!.address!.port });

      const url = new URL(dashboard.url!);
      const prometheus = await startPrometheus(url.host);

      // Messages flow for as long as the test waits: remote-b → remote-a, local-1 → remote-a.
      let flowing = true;
      const flow = (async () => {
        while (flowing) {
          for (let i = 0; i < 20; i++) local.asyncMessage('work', `m${i}`);
          await dashboard.inject({ method: 'POST', url: '/api/nodes/remote-b/command', payload: { command: 'send', args: ['20'] } });
          await delay(50);
        }
      })();
      onCleanup(async () => {
        flowing = false;
        await flow;
      });

      const promql = 'sum by (node) (rate(systemge_messages_sent_total[5s]) + rate(systemge_messages_received_total[5s]))';
      const rates = await poll('a non-zero rate for all three nodes', 60_000, 250, async () => {
        const result = await query(prometheus, promql);
        const byNode = new Map(result.map((s) => [s.metric['node'], Number(s.value[1])]));
        return ['local-1', 'remote-a', 'remote-b'].every((n) => (byNode.get(n) ?? 0) > 0) ? byNode : undefined;
      });
      expect([...rates.keys()].sort()).toEqual(['local-1', 'remote-a', 'remote-b']);
      for (const [node, rate] of rates) expect(rate, node).toBeGreaterThan(0);

      // Each series carries the right node: the receiver is remote-a, the async senders local-1 and remote-b.
      const received = await query(prometheus, 'sum by (node) (rate(systemge_messages_received_total{kind="async"}[5s]))');
      const receivedBy = new Map(received.map((s) => [s.metric['node'], Number(s.value[1])]));
      expect(receivedBy.get('remote-a')).toBeGreaterThan(0);
      expect(receivedBy.get('remote-b')).toBe(0);
      expect(receivedBy.get('local-1')).toBe(0);
      const sent = await query(prometheus, 'sum by (node) (rate(systemge_messages_sent_total{kind="async"}[5s]))');
      const sentBy = new Map(sent.map((s) => [s.metric['node'], Number(s.value[1])]));
      expect(sentBy.get('local-1')).toBeGreaterThan(0);
      expect(sentBy.get('remote-b')).toBeGreaterThan(0);
      // A remote node's plugin sample arrives structured through its link and keeps its labels.
      const jobs = await poll('the remote plugin sample', 30_000, 250, async () => {
        const result = await query(prometheus, 'systemge_jobs_done_total');
        return result.length > 0 && Number(result[0]!.value[1]) > 0 ? result : undefined;
      });
      expect(jobs.map((s) => ({ node: s.metric['node'], plugin: s.metric['plugin'], queue: s.metric['queue'] }))).toEqual([
        { node: 'remote-a', plugin: 'jobs', queue: 'work' },
      ]);

      // The dashboard's one target reports up, with one job.
      const up = await query(prometheus, 'up');
      expect(up.map((s) => [s.metric['job'], s.value[1]])).toEqual([['systemge-dashboard', '1']]);

      // Every query of the Grafana dashboard in docs/ runs on these series; the node panels have data.
      const grafana = JSON.parse(readFileSync(GRAFANA_DASHBOARD, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
      expect(grafana.panels.length).toBeGreaterThan(10);
      for (const panel of grafana.panels) {
        for (const target of panel.targets) {
          const promql = target.expr.replaceAll('$__rate_interval', '5s').replaceAll('$node', '.*');
          const result = await query(prometheus, promql);
          if (!/HTTP|WebSocket/.test(panel.title)) expect(result.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        }
      }
    },
    120_000,
  );
});
