import type { PluginMetric } from '@systemge/node';

const REQUESTS_HELP = 'HTTP requests answered, by route and status class.';

/** Status classes counted per route. */
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Label used for requests that matched no route (never the raw URL: that would grow without bound). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Request counters by route key and status class, for `getStats()` and `getMetrics()`. */
export class RequestCounters {
  requests = 0;
  rejectedByAddress = 0;
  private readonly byClass = [0, 0, 0, 0, 0];
  private readonly byRoute = new Map<string, number[]>();

  record(route: string, statusCode: number): void {
    this.requests++;
    const index = Math.min(Math.max(Math.floor(statusCode / 100) - 1, 0), 4);
    this.byClass[index] = (this.byClass[index] as number) + 1;
    let counts = this.byRoute.get(route);
    if (counts === undefined) {
      counts = [0, 0, 0, 0, 0];
      this.byRoute.set(route, counts);
    }
    counts[index] = (counts[index] as number) + 1;
  }

  /** `requests_total`, `responses_2xx_total`..., `rejected_address_total`: totals without labels. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {
      requests_total: this.requests,
      rejected_address_total: this.rejectedByAddress,
    };
    CLASSES.forEach((name, i) => {
      out[`responses_${name}_total`] = this.byClass[i] as number;
    });
    return out;
  }

  /** `http_requests_total` by route and status class (only classes that occurred), `http_address_rejections_total`. */
  metrics(): PluginMetric[] {
    const out: PluginMetric[] = [];
    for (const [route, counts] of this.byRoute) {
      CLASSES.forEach((status, i) => {
        const value = counts[i] as number;
        if (value > 0) out.push({ name: 'http_requests_total', help: REQUESTS_HELP, type: 'counter', labels: { route, status }, value });
      });
    }
    out.push({
      name: 'http_address_rejections_total',
      help: 'HTTP requests refused by the allow/deny address lists.',
      type: 'counter',
      value: this.rejectedByAddress,
    });
    return out;
  }
}
