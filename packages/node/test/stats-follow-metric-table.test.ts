import { describe, expect, it } from 'vitest';
import { NODE_METRICS, SYNC_LATENCY_BUCKETS_MS } from '../src/index.js';
import { Counters } from '../src/stats.js';
import { endpointOf, startNode, until } from './helpers.js';

// NODE_METRICS is the one list of a node's figures: node.stats and the counters the node
// increments must follow it, so that a new entry reaches Prometheus and the docs unedited.
describe('node stats follow NODE_METRICS', () => {
  it('node.stats has exactly the table fields (histograms as buckets, sum, count) plus topics', async () => {
    const a = await startNode({ name: 'a' }, { getSyncMessageHandlers: () => ({ echo: (m) => String(m.payload) }) });
    const b = await startNode({ name: 'b', endpoints: [endpointOf(a)] });
    expect(await b.syncRequest('echo', 'x').first()).toBe('x');
    await until(() => a.stats.syncResponsesSent === 1);
    const expected: string[] = ['topics'];
    for (const [key, spec] of Object.entries(NODE_METRICS)) {
      if (spec.type === 'histogram') expected.push(`${key}Buckets`, `${key}SumMs`, `${key}Count`);
      else expected.push(key);
    }
    const stats = b.stats;
    expect(Object.keys(stats).sort()).toEqual(expected.sort());
    expect(stats.syncRequestsSent).toBe(1);
    expect(stats.syncResponsesReceived).toBe(1);
    expect(stats.syncLatencyCount).toBe(1);
    expect(stats.syncLatencyBuckets).toHaveLength(SYNC_LATENCY_BUCKETS_MS.length + 1);
    expect(stats.topics['echo']).toEqual({ received: 0, sent: 1 });
    expect(stats.bytesOut).toBeGreaterThan(0);
  });

  it('Counters starts every counted field at zero and snapshot() carries them with the read figures', () => {
    const counters = new Counters();
    counters.asyncSent += 3;
    counters.rateLimitDrops++;
    const read = { bytesIn: 1, bytesOut: 2, connectionsIn: 3, connectionsOut: 4, queuedMessages: 5, pausedConnections: 6 };
    const stats = counters.snapshot(read);
    for (const [key, spec] of Object.entries(NODE_METRICS)) {
      if (spec.type === 'histogram') continue;
      const value = (stats as unknown as Record<string, number>)[key];
      if ('source' in spec) expect(value, key).toBe(read[key as keyof typeof read]);
      else expect(value, key).toBe(key === 'asyncSent' ? 3 : key === 'rateLimitDrops' ? 1 : 0);
    }
  });

  it('every entry has a Prometheus name, help and description; entries sharing a metric agree on it', () => {
    const byMetric = new Map<string, { type: string; help: string; labels: string }>();
    for (const [key, spec] of Object.entries(NODE_METRICS)) {
      expect(spec.metric, key).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(spec.help.length, key).toBeGreaterThan(0);
      expect(spec.description.length, key).toBeGreaterThan(0);
      if (spec.type === 'counter') expect(spec.metric, key).toMatch(/_total$/);
      const labels = Object.keys('labels' in spec ? spec.labels : {}).join(',');
      const seen = byMetric.get(spec.metric);
      if (seen === undefined) byMetric.set(spec.metric, { type: spec.type, help: spec.help, labels });
      else expect({ type: spec.type, help: spec.help, labels }, key).toEqual(seen);
    }
  });
});
