/**
 * Structured payloads: async messages/s of a 10-field record between two node processes over TCP,
 * sent as an object (msgpack on the wire, decoded by Systemge) against the same record sent as a string
 * the application `JSON.stringify`s per message and `JSON.parse`s in the handler. Both handlers read
 * fields of the record. Fresh processes for every measurement, variants interleaved.
 */
import { fileURLToPath } from 'node:url';
import { packPayload } from '@systemge/protocol';
import { cpuTime, expectMessage, failureOf, withChildren } from '../children.js';
import { formatSummary, repeat, summarize } from '../harness.js';
import { record } from '../structured/record.js';

const RECEIVER = fileURLToPath(new URL('../structured/receiver.js', import.meta.url));
const SENDER = fileURLToPath(new URL('../structured/sender.js', import.meta.url));
const VARIANTS = ['object', 'json'];

async function measure(variant, options) {
  const warmupMs = Math.round(options.warmupSeconds * 1000);
  const measureMs = Math.round(options.seconds * 1000);
  return withChildren(async (fork) => {
    const receiver = fork(RECEIVER, [variant, String(warmupMs), String(measureMs)], { label: `${variant} receiver` });
    const { port } = await expectMessage(receiver, 'listening', 15_000);
    const sender = fork(SENDER, [variant, String(port)], { label: `${variant} sender` });
    const deadline = warmupMs + measureMs + 20_000;
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
  name: 'payloads',
  description: 'structured payloads: a 10-field record as an object vs hand-JSON.stringify-ed string, node to node over TCP (2 processes)',
  async run(ctx) {
    const { runs } = ctx.options;
    ctx.log(`payloads: ${runs} × ${VARIANTS.join(', ')}`);
    const cpu = new Map(VARIANTS.map((v) => [v, { sender: [], receiver: [] }]));
    const summary = await repeat(VARIANTS, runs, async (variant) => {
      const m = await measure(variant, ctx.options);
      cpu.get(variant).sender.push(m.senderNsPerMessage);
      cpu.get(variant).receiver.push(m.receiverNsPerMessage);
      return m.messagesPerSecond;
    });
    const json = summary.get('json').median;
    const sample = record(1);
    const results = VARIANTS.map((variant) => ({
      variant,
      wireBytes: variant === 'json' ? Buffer.byteLength(JSON.stringify(sample)) : packPayload('bench.record', sample).length,
      messagesPerSecond: summary.get(variant),
      ratioToJson: summary.get(variant).median / json,
      senderCpuNsPerMessage: summarize(cpu.get(variant).sender),
      receiverCpuNsPerMessage: summarize(cpu.get(variant).receiver),
    }));
    return {
      columns: [
        { key: 'variant', title: 'payload' },
        { key: 'msgs', title: 'msgs/s median (min–max)', align: 'right' },
        { key: 'ratio', title: '/ json', align: 'right' },
        { key: 'cpu', title: 'CPU ns/msg send / recv', align: 'right' },
      ],
      rows: results.map((r) => ({
        variant: r.variant === 'object' ? 'object (msgpack)' : 'JSON.stringify string',
        msgs: formatSummary(r.messagesPerSecond),
        ratio: `${(r.ratioToJson * 100).toFixed(0)} %`,
        cpu: `${r.senderCpuNsPerMessage.median.toFixed(0)} / ${r.receiverCpuNsPerMessage.median.toFixed(0)}`,
      })),
      results,
      notes: [
        'Both handlers read fields of the record: the object arrives decoded; the string is JSON.parse-d in the handler.',
        `The record: ${JSON.stringify(sample)} (${packPayload('bench.record', sample).length} B as msgpack, ${Buffer.byteLength(JSON.stringify(sample))} B as JSON).`,
      ],
    };
  },
};
