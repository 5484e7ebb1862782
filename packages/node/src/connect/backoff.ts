import type { ConnectionConfig, EndpointConfig } from '../config.js';
import { type Clock, systemClock, type TimerHandle } from '../context.js';
import { timerDelay } from '../timers.js';

/** Delay before attempt `attempt + 1` (attempt counts from 1): exponential, capped, with ±jitter. */
export function backoffDelay(config: Required<ConnectionConfig>, attempt: number, random = Math.random): number {
  const base = Math.min(config.initialDelayMs * config.backoffFactor ** (attempt - 1), config.maxDelayMs);
  const spread = base * config.jitter;
  return timerDelay(Math.round(base - spread + random() * 2 * spread));
}

export function endpointKey(endpoint: EndpointConfig): string {
  return `${endpoint.host}:${endpoint.port}`;
}

/** A cancellable sleep; resolves false when cancelled. */
export class Sleeper {
  private timer: TimerHandle | undefined;
  private wake: ((completed: boolean) => void) | undefined;
  private readonly clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
  }

  sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.wake = undefined;
        resolve(true);
      }, timerDelay(ms));
    });
  }

  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.(false);
  }
}
