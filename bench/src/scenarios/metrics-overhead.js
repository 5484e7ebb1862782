/**
 * Cost of metrics on the message path: async messages/s between two Systemge nodes in two
 * processes over TCP on 127.0.0.1, with and without `nodeMetrics` (prom-client, process metrics
 * included) on each node and its registry rendered to Prometheus text every second, as a scrape
 * would. Variants are measured
 * in the same run, interleaved, each with fresh processes.
 */
import { fileURLToPath } from 'node:url';
import { expectMessage, failureOf, withChildren } from '../children.js';
import { formatSummary, repeat, summarize } from '../harness.js';
import { PAYLOAD_SIZES, sizeLabel } from '../payloads.js';

const PEER = fileURLToPath(new URL('../node/metrics-peer.js', import.meta.url));
const VARIANTS = ['metrics-off', 'metrics-on'];

async function measure(variant, size, options) {
  const metrics = variant === 'metrics-on' ? 'on' : 'off';
  const warmupMs = Math.round(options.warmupSeconds * 1000);
  const measureMs = Math.round(options.seconds * 1000);
  return withChildren(async (fork) => {
    const receiver = fork(PEER, ['receiver', metrics, String(size), String(warmupMs), String(measureMs)], { label: `${variant} receiver` });
    const { port } = await expectMessage(receiver, 'listening', 10_000);
    const sender = fork(PEER, ['sender', metrics, String(size), String(port)], { label: `${variant} sender` });
    const deadline = warmupMs + measureMs + 15_000;
    const senderFailed = failureOf([sender], deadline);
    const result = await Promise.race([expectMessage(receiver, 'result', deadline), senderFailed]);
    if (result.messages === 0) throw new Error(`${variant}: no messages received`);
    return { messagesPerSecond: result.messages / result.seconds, receiverNsPerMessage: (result.cpuMicros * 1000) / result.messages };
  });
}

export const scenario = {
  name: 'metrics-overhead',
  description: 'node-to-node async messages/s over TCP (two processes), nodeMetrics on a prom-client registry scraped every second vs none',
  async run(ctx) {
    const { runs } = ctx.options;
    const results = [];
    for (const size of PAYLOAD_SIZES) {
      ctx.log(`metrics-overhead ${sizeLabel(size)}: ${runs} × ${VARIANTS.join(', ')}`);
      const cpu = new Map(VARIANTS.map((v) => [v, []]));
      const summary = await repeat(VARIANTS, runs, async (variant) => {
        const m = await measure(variant, size, ctx.options);
        cpu.get(variant).push(m.receiverNsPerMessage);
        return m.messagesPerSecond;
      });
      const off = summary.get('metrics-off').median;
      for (const variant of VARIANTS) {
        const s = summary.get(variant);
        results.push({
          payload: sizeLabel(size),
          payloadBytes: size,
          variant,
          messagesPerSecond: s,
          ratioToOff: s.median / off,
          receiverCpuNsPerMessage: summarize(cpu.get(variant)),
        });
      }
    }
    return {
      columns: [
        { key: 'payload', title: 'payload' },
        { key: 'variant', title: 'variant' },
        { key: 'msgs', title: 'msgs/s median (min–max)', align: 'right' },
        { key: 'ratio', title: '/ off', align: 'right' },
        { key: 'cpu', title: 'recv CPU ns/msg', align: 'right' },
      ],
      rows: results.map((r) => ({
        payload: r.payload,
        variant: r.variant,
        msgs: formatSummary(r.messagesPerSecond),
        ratio: `${(r.ratioToOff * 100).toFixed(1)} %`,
        cpu: r.receiverCpuNsPerMessage.median.toFixed(0),
      })),
      results,
      notes: [
        '/ off = variant median / metrics-off median. Metrics are read from node.stats at scrape time, so the message path itself is unchanged.',
        'recv CPU ns/msg: user + system CPU time of the receiving process per message received (median).',
      ],
    };
  },
};
