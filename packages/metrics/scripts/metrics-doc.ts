// Writes the generated part of docs/metrics.md from NODE_METRICS (the one declaration of a node's
// counters): pnpm --filter @systemge/metrics metrics-doc. test/metrics-doc-current.test.ts fails
// when the file is not current.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NODE_METRICS } from '@systemge/node';
import { nodeMetricNames } from '../src/index.js';

export const METRICS_DOC = fileURLToPath(new URL('../../../docs/metrics.md', import.meta.url));
export const START = '<!-- generated from NODE_METRICS by packages/metrics/scripts/metrics-doc.ts: do not edit by hand -->';
export const END = '<!-- end of generated part -->';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The generated part: every Prometheus metric, then every `NodeStats` field and the series it feeds. */
export function renderMetricsDoc(): string {
  const lines: string[] = [START, '', '### Prometheus metrics', '', '| metric | type | labels | help |', '|---|---|---|---|'];
  for (const m of nodeMetricNames()) {
    lines.push(`| \`systemge_${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ')} | ${cell(m.help)} |`);
  }
  lines.push('', '### `NodeStats` fields', '', '| field | series | meaning |', '|---|---|---|');
  for (const [key, spec] of Object.entries(NODE_METRICS)) {
    const labels = 'labels' in spec ? Object.entries(spec.labels).map(([k, v]) => `${k}="${v}"`) : [];
    const series = `\`systemge_${spec.metric}${labels.length === 0 ? '' : `{${labels.join(',')}}`}\``;
    const fields = spec.type === 'histogram' ? `\`${key}Buckets\`, \`${key}SumMs\`, \`${key}Count\`` : `\`${key}\``;
    lines.push(`| ${fields} | ${series} | ${cell(spec.description)} |`);
  }
  lines.push(
    '| `topics` | `systemge_topic_messages_received_total{topic}`, `systemge_topic_messages_sent_total{topic}` | Async messages and sync requests by topic (at most 256 topics, the rest as `__other__`). |',
  );
  lines.push('', END);
  return lines.join('\n');
}

/** docs/metrics.md with its generated part replaced by `renderMetricsDoc()`. */
export function updatedMetricsDoc(current: string): string {
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${METRICS_DOC} has no generated part (markers missing)`);
  return current.slice(0, start) + renderMetricsDoc() + current.slice(end + END.length);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(METRICS_DOC, 'utf8');
  const next = updatedMetricsDoc(current);
  if (next !== current) writeFileSync(METRICS_DOC, next);
  console.log(next === current ? 'docs/metrics.md is current' : 'docs/metrics.md updated');
}
