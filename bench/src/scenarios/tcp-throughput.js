/**
 * TCP throughput between two processes on 127.0.0.1: a sender child pushes async messages
 * as fast as backpressure allows, a receiver child counts them over a fixed window after a
 * warmup. Variants, measured in the same run and interleaved:
 *
 * - systemge:       tcpTransport + Connection.send, string payload (the default message)
 * - systemge-bytes: the same with a Uint8Array payload (no UTF-8 encode/validate/decode)
 * - raw:            node:net, u32 length + payload buffer, cork per tick, minimal parser
 *
 * Every measurement uses fresh processes, so no variant inherits another's JIT or heap.
 */
import { fileURLToPath } from 'node:url';
import { cpuProfileArgv, cpuTime, expectMessage, failureOf, withChildren } from '../children.js';
import { formatNumber, formatSummary, repeat, summarize } from '../harness.js';
import { PAYLOAD_SIZES, sizeLabel } from '../payloads.js';

const RECEIVER = fileURLToPath(new URL('../tcp/receiver.js', import.meta.url));
const SENDER = fileURLToPath(new URL('../tcp/sender.js', import.meta.url));
const VARIANTS = ['systemge', 'systemge-bytes', 'raw'];
/** Outgoing buffer limit of both senders: Systemge's default send high-water mark. */
export const HIGH_WATER_MARK = 1024 * 1024;

/**
 * Options for forking the sender or the receiver of `variant`. BENCH_CPU_PROF=sender|receiver|both
 * writes .cpuprofile files to results/tmp/ for profiling.
 */
function childOptions(role, variant) {
  const which = process.env.BENCH_CPU_PROF;
  const profile = which !== undefined && (which === 'both' || which === role);
  return { execArgv: profile ? cpuProfileArgv() : [], label: `${variant} ${role}` };
}

/**
 * One measurement: messages per second seen by the receiver, and the CPU time (user + system)
 * each process spent per message in that window. CPU per message hardly moves when other
 * work competes for the cores, so it is the number to compare before/after a change.
 * `transport` is `{ name: 'tcp' }` (default) or `{ name: 'tls', certDir }` (Systemge variants only).
 */
export async function measure(variant, size, options, transport = { name: 'tcp' }) {
  const transportArgs = transport.name === 'tls' ? ['tls', transport.certDir] : [];
  const warmupMs = Math.round(options.warmupSeconds * 1000);
  const measureMs = Math.round(options.seconds * 1000);
  return withChildren(async (fork) => {
    const receiver = fork(
      RECEIVER,
      [variant, String(size), String(warmupMs), String(measureMs), ...transportArgs],
      childOptions('receiver', variant),
    );
    const { port } = await expectMessage(receiver, 'listening', 10_000);
    const sender = fork(
      SENDER,
      [variant, String(size), String(port), String(HIGH_WATER_MARK), ...transportArgs],
      childOptions('sender', variant),
    );
    const deadline = warmupMs + measureMs + 15_000;
    const senderFailed = failureOf([sender], deadline);
    const resultArrived = expectMessage(receiver, 'result', deadline);
    await Promise.race([expectMessage(receiver, 'window-start', deadline), senderFailed]);
    const cpuStart = await Promise.race([cpuTime(sender), senderFailed]);
    const result = await Promise.race([resultArrived, senderFailed]);
    const cpuEnd = await Promise.race([cpuTime(sender), senderFailed]);
    if (result.messages === 0) throw new Error(`${variant}: no messages received`);
    return {
      messagesPerSecond: result.messages / result.seconds,
      senderNsPerMessage: ((cpuEnd.micros - cpuStart.micros) * 1000) / result.messages,
      receiverNsPerMessage: (result.cpuMicros * 1000) / result.messages,
    };
  });
}

export const scenario = {
  name: 'tcp-throughput',
  description: 'async messages/s between two processes over TCP on 127.0.0.1, Systemge vs raw node:net framing',
  async run(ctx) {
    const { runs } = ctx.options;
    const results = [];
    for (const size of PAYLOAD_SIZES) {
      ctx.log(`tcp-throughput ${sizeLabel(size)}: ${runs} × ${VARIANTS.join(', ')}`);
      const cpu = new Map(VARIANTS.map((v) => [v, { sender: [], receiver: [] }]));
      const summary = await repeat(VARIANTS, runs, async (variant) => {
        const m = await measure(variant, size, ctx.options);
        cpu.get(variant).sender.push(m.senderNsPerMessage);
        cpu.get(variant).receiver.push(m.receiverNsPerMessage);
        return m.messagesPerSecond;
      });
      const raw = summary.get('raw').median;
      const cpuBound = (variant) => 1e9 / Math.max(summarize(cpu.get(variant).sender).median, summarize(cpu.get(variant).receiver).median);
      for (const variant of VARIANTS) {
        const s = summary.get(variant);
        results.push({
          payload: sizeLabel(size),
          payloadBytes: size,
          variant,
          messagesPerSecond: s,
          mbPerSecond: (s.median * size) / 1e6,
          ratioToRaw: s.median / raw,
          senderCpuNsPerMessage: summarize(cpu.get(variant).sender),
          receiverCpuNsPerMessage: summarize(cpu.get(variant).receiver),
          cpuBoundMessagesPerSecond: cpuBound(variant),
          cpuBoundRatioToRaw: cpuBound(variant) / cpuBound('raw'),
        });
      }
    }
    return {
      columns: [
        { key: 'payload', title: 'payload' },
        { key: 'variant', title: 'variant' },
        { key: 'msgs', title: 'msgs/s median (min–max)', align: 'right' },
        { key: 'mb', title: 'MB/s', align: 'right' },
        { key: 'ratio', title: '/ raw', align: 'right' },
        { key: 'cpu', title: 'CPU ns/msg send / recv', align: 'right' },
        { key: 'cpuBound', title: 'CPU-bound msgs/s', align: 'right' },
        { key: 'cpuBoundRatio', title: '/ raw', align: 'right' },
      ],
      rows: results.map((r) => ({
        payload: r.payload,
        variant: r.variant,
        msgs: formatSummary(r.messagesPerSecond),
        mb: formatNumber(r.mbPerSecond),
        ratio: `${(r.ratioToRaw * 100).toFixed(0)} %`,
        cpu: `${r.senderCpuNsPerMessage.median.toFixed(0)} / ${r.receiverCpuNsPerMessage.median.toFixed(0)}`,
        cpuBound: formatNumber(r.cpuBoundMessagesPerSecond),
        cpuBoundRatio: `${(r.cpuBoundRatioToRaw * 100).toFixed(0)} %`,
      })),
      results,
      notes: [
        'MB/s counts payload bytes (10^6 B). / raw = variant median / raw median.',
        'CPU ns/msg: user + system CPU time of the sender / receiver process per message received (median).',
        'CPU-bound msgs/s = 10^9 / the larger of the two: the rate if each process had a core to itself and the slower side set the pace. It moves much less with other load on the machine than msgs/s.',
        `Both senders stop at ${HIGH_WATER_MARK / 1024} KiB of unsent bytes and wait for drain.`,
      ],
    };
  },
};
