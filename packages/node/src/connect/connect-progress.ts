import type { Logger } from '../logger.js';

/** At most one "still waiting" line per endpoint this often, ms. */
export const CONNECT_PROGRESS_INTERVAL_MS = 10_000;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/**
 * Tells the operator what a node waits for while an endpoint cannot be reached, without flooding:
 * the first failed attempt at `warn`, then at most one `info` line per endpoint every
 * `intervalMs` (each naming the attempt and the next retry), every attempt at `debug`, and one
 * `info` line once the endpoint answers after failures.
 */
export class ConnectProgressLog {
  private readonly lastLoggedAt = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = CONNECT_PROGRESS_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  failed(endpoint: string, attempt: number, error: Error, retryInMs: number | undefined): void {
    const fields = { endpoint, attempt, err: error.message, retryInMs };
    const next = retryInMs === undefined ? 'no more attempts' : `next retry in ${seconds(retryInMs)}`;
    const at = this.now();
    const last = this.lastLoggedAt.get(endpoint);
    if (attempt === 1 || last === undefined) {
      this.lastLoggedAt.set(endpoint, at);
      this.logger.warn(fields, `cannot reach ${endpoint} (${error.message}); ${next}`);
    } else if (retryInMs === undefined || at - last >= this.intervalMs) {
      this.lastLoggedAt.set(endpoint, at);
      this.logger.info(fields, `waiting for ${endpoint}: attempt ${attempt} failed (${error.message}); ${next}`);
    } else {
      this.logger.debug(fields, 'connection attempt failed');
    }
  }

  connected(endpoint: string, attempt: number): void {
    if (!this.lastLoggedAt.delete(endpoint)) return;
    this.logger.info({ endpoint, attempt }, `reached ${endpoint} after ${attempt} attempts`);
  }
}
