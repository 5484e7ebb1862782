import { describe, expect, it } from 'vitest';
import { httpComponent, type HTTPComponentOptions } from '../src/index.js';

const TIMERS = ['connectionTimeoutMs', 'requestTimeoutMs', 'headersTimeoutMs', 'keepAliveTimeoutMs', 'closeTimeoutMs'] as const;

describe('timer options', () => {
  it.each(TIMERS)('%s accepts 0 (its documented meaning) up to 2147483647 ms', (option) => {
    for (const value of [0, 1000, 2 ** 31 - 1]) {
      // headersTimeoutMs may not exceed requestTimeoutMs; 0 makes the request time unlimited.
      const options: HTTPComponentOptions =
        option === 'headersTimeoutMs' ? { requestTimeoutMs: 0, headersTimeoutMs: value } : { [option]: value };
      expect(() => httpComponent(options)).not.toThrow();
    }
  });

  it.each(TIMERS)('%s refuses negative, NaN, Infinity, fractions and values a Node timer cannot hold, naming the option', (option) => {
    for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 30 * 24 * 3600 * 1000, 1e12, 2.5]) {
      let caught: unknown;
      try {
        httpComponent({ requestTimeoutMs: 0, [option]: value });
      } catch (error) {
        caught = error;
      }
      expect(caught, `${option}: ${value}`).toMatchObject({ code: 'SYSTEMGE_ERR_HTTP_CONFIG', option });
      expect((caught as Error).message).toContain('2147483647');
      expect((caught as Error).message).toContain(String(value));
    }
  });
});
