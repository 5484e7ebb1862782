import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { NODE_METRICS } from '@systemge/node';
import { METRICS_DOC, updatedMetricsDoc } from '../scripts/metrics-doc.js';

it('docs/metrics.md is generated from NODE_METRICS and current (pnpm --filter @systemge/metrics metrics-doc)', () => {
  const doc = readFileSync(METRICS_DOC, 'utf8');
  expect(doc, 'run pnpm --filter @systemge/metrics metrics-doc').toBe(updatedMetricsDoc(doc));
  for (const [key, spec] of Object.entries(NODE_METRICS)) {
    expect(doc, key).toContain(`\`systemge_${spec.metric}\``);
    expect(doc, key).toContain(spec.type === 'histogram' ? `\`${key}Buckets\`` : `\`${key}\``);
  }
});
