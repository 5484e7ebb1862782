/**
 * TLS throughput as a share of TCP: the tcp-throughput measurement (same sender and receiver
 * children, same backpressure, same window) with the Systemge `systemge` variant over
 * `tlsTransport` and over `tcpTransport`, interleaved in the same run. The certificates are a
 * throwaway CA + `localhost` server certificate made with openssl in a temp dir for the run.
 */
import { formatNumber, formatSummary, repeat, summarize } from '../harness.js';
import { PAYLOAD_SIZES, sizeLabel } from '../payloads.js';
import { makeCertificates } from '../peers/certs.js';
import { HIGH_WATER_MARK, measure } from './tcp-throughput.js';

const VARIANTS = ['tcp', 'tls'];

export const scenario = {
  name: 'tls-throughput',
  description: 'async messages/s between two processes, Systemge over tlsTransport vs tcpTransport',
  async run(ctx) {
    const { runs } = ctx.options;
    const certificates = await makeCertificates();
    const results = [];
    try {
      for (const size of PAYLOAD_SIZES) {
        ctx.log(`tls-throughput ${sizeLabel(size)}: ${runs} × ${VARIANTS.join(', ')}`);
        const cpu = new Map(VARIANTS.map((v) => [v, { sender: [], receiver: [] }]));
        const summary = await repeat(VARIANTS, runs, async (variant) => {
          const transport = variant === 'tls' ? { name: 'tls', certDir: certificates.dir } : { name: 'tcp' };
          const m = await measure('systemge', size, ctx.options, transport);
          cpu.get(variant).sender.push(m.senderNsPerMessage);
          cpu.get(variant).receiver.push(m.receiverNsPerMessage);
          return m.messagesPerSecond;
        });
        const cpuBound = (variant) =>
          1e9 / Math.max(summarize(cpu.get(variant).sender).median, summarize(cpu.get(variant).receiver).median);
        const tcp = summary.get('tcp').median;
        for (const variant of VARIANTS) {
          const s = summary.get(variant);
          results.push({
            payload: sizeLabel(size),
            payloadBytes: size,
            transport: variant,
            messagesPerSecond: s,
            mbPerSecond: (s.median * size) / 1e6,
            ratioToTcp: s.median / tcp,
            senderCpuNsPerMessage: summarize(cpu.get(variant).sender),
            receiverCpuNsPerMessage: summarize(cpu.get(variant).receiver),
            cpuBoundMessagesPerSecond: cpuBound(variant),
            cpuBoundRatioToTcp: cpuBound(variant) / cpuBound('tcp'),
          });
        }
      }
    } finally {
      await certificates.remove();
    }
    return {
      columns: [
        { key: 'payload', title: 'payload' },
        { key: 'transport', title: 'transport' },
        { key: 'msgs', title: 'msgs/s median (min–max)', align: 'right' },
        { key: 'mb', title: 'MB/s', align: 'right' },
        { key: 'ratio', title: '/ tcp', align: 'right' },
        { key: 'cpu', title: 'CPU ns/msg send / recv', align: 'right' },
        { key: 'cpuBound', title: 'CPU-bound msgs/s', align: 'right' },
        { key: 'cpuBoundRatio', title: '/ tcp', align: 'right' },
      ],
      rows: results.map((r) => ({
        payload: r.payload,
        transport: r.transport,
        msgs: formatSummary(r.messagesPerSecond),
        mb: formatNumber(r.mbPerSecond),
        ratio: `${(r.ratioToTcp * 100).toFixed(0)} %`,
        cpu: `${r.senderCpuNsPerMessage.median.toFixed(0)} / ${r.receiverCpuNsPerMessage.median.toFixed(0)}`,
        cpuBound: formatNumber(r.cpuBoundMessagesPerSecond),
        cpuBoundRatio: `${(r.cpuBoundRatioToTcp * 100).toFixed(0)} %`,
      })),
      results,
      notes: [
        'Both rows are the tcp-throughput `systemge` variant (text payload); only the transport differs. / tcp = TLS median / TCP median.',
        'TLS: Node defaults (TLS 1.3), EC P-256 server certificate from a throwaway CA, no client certificate.',
        'CPU ns/msg and CPU-bound msgs/s as in tcp-throughput: user + system CPU per message received, and 10^9 / the larger side.',
        `Senders stop at ${HIGH_WATER_MARK / 1024} KiB of unsent bytes and wait for drain.`,
      ],
    };
  },
};
