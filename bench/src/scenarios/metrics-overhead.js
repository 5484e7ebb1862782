/**
 * Cost of metrics on the message path: async messages/s between two Systemge nodes in two
 * processes over TCP on 127.0.0.1, with and without a metrics registry bound to each node
 * (`nodeMetrics` + `collectProcessMetrics`, `snapshot()` every second). Variants are measured
 * in the same run, interleaved, each with fresh processes.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatSummary, repeat, summarize } from '../harness.js';
import { PAYLOAD_SIZES, sizeLabel } from '../payloads.js';

const PEER = fileURLToPath(new URL('../node/metrics-peer.js', import.meta.url));
const VARIANTS = ['metrics-off', 'metrics-on'];

const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function spawnPeer(args) {
  const child = fork(PEER, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves with the first IPC message of `type`; rejects on an error message, early exit or timeout. */
function expect(child, type, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg) => {
      if (msg.type === type) finish(undefined, msg);
      else if (msg.type === 'error') finish(new Error(`${what}: ${msg.message}`));
    };
    const onExit = (code, signal) => finish(new Error(`${what} exited early (${signal ?? code})`));
    function finish(err, msg) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(msg);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function measure(variant, size, options) {
  const metrics = variant === 'metrics-on' ? 'on' : 'off';
  const warmupMs = Math.round(options.warmupSeconds * 1000);
  const measureMs = Math.round(options.seconds * 1000);
  const receiver = spawnPeer(['receiver', metrics, String(size), String(warmupMs), String(measureMs)]);
  let sender;
  try {
    const { port } = await expect(receiver, 'listening', 10_000, `${variant} receiver`);
    sender = spawnPeer(['sender', metrics, String(size), String(port)]);
    const deadline = warmupMs + measureMs + 15_000;
    const senderFailed = expect(sender, 'never', deadline, `${variant} sender`);
    const result = await Promise.race([expect(receiver, 'result', deadline, `${variant} receiver`), senderFailed]);
    senderFailed.catch(() => {});
    if (result.messages === 0) throw new Error(`${variant}: no messages received`);
    return { messagesPerSecond: result.messages / result.seconds, receiverNsPerMessage: (result.cpuMicros * 1000) / result.messages };
  } finally {
    await stop(receiver);
    if (sender !== undefined) await stop(sender);
  }
}

export const scenario = {
  name: 'metrics-overhead',
  description: 'node-to-node async messages/s over TCP (two processes), metrics registry bound and snapshotted every second vs none',
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
        '/ off = variant median / metrics-off median. Metrics are read from node.stats at snapshot time, so the message path itself is unchanged.',
        'recv CPU ns/msg: user + system CPU time of the receiving process per message received (median).',
      ],
    };
  },
};
