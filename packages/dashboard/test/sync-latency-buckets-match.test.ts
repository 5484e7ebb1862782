import { NODE_SYNC_LATENCY_BUCKETS_MS } from '@systemge/metrics';
import { SYNC_LATENCY_BUCKETS_MS } from '@systemge/node';
import { expect, it } from 'vitest';

// @systemge/metrics keeps its own copy of the node's latency buckets (it must not depend on
// @systemge/node); a drift would silently drop every latency reading that does not fit.
it('the metrics default sync latency buckets equal the node ones', () => {
  expect([...NODE_SYNC_LATENCY_BUCKETS_MS]).toEqual([...SYNC_LATENCY_BUCKETS_MS]);
});
