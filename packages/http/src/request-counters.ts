/** Status classes counted per route. */
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Label used for requests that matched no route (never the raw URL: that would grow without bound). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Request counters by route key and status class, flattened for `getStats()`. */
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

  /**
   * `requests_total`, `responses_2xx_total`..., `rejected_address_total`, and per route
   * `requests_total{route="GET /users/:id",status="2xx"}` (only classes that occurred).
   */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {
      requests_total: this.requests,
      rejected_address_total: this.rejectedByAddress,
    };
    CLASSES.forEach((name, i) => {
      out[`responses_${name}_total`] = this.byClass[i] as number;
    });
    for (const [route, counts] of this.byRoute) {
      CLASSES.forEach((name, i) => {
        const n = counts[i] as number;
        if (n > 0) out[`requests_total{route=${JSON.stringify(route)},status="${name}"}`] = n;
      });
    }
    return out;
  }
}
