import { describe, expect, it } from 'vitest';
import { websocketComponent, type WebSocketComponentOptions } from '../src/index.js';

const OUT_OF_RANGE = [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 30 * 24 * 3600 * 1000, 1.5];

describe('timer options', () => {
  // 0 means "off" (ping) or "at once" (close): documented meanings, accepted.
  it.each([
    ['pingIntervalMs', 0],
    ['closeTimeoutMs', 0],
    ['slowClientTimeoutMs', 1],
  ] as const)('%s accepts %d up to 2147483647 ms', (option, min) => {
    for (const value of [min, 1000, 2 ** 31 - 1]) expect(() => websocketComponent({ [option]: value })).not.toThrow();
  });

  it.each(['pingIntervalMs', 'closeTimeoutMs', 'slowClientTimeoutMs'] as const)(
    '%s refuses negative, NaN, Infinity, fractions and values a Node timer cannot hold, naming the option',
    (option) => {
      const values = option === 'slowClientTimeoutMs' ? [0, ...OUT_OF_RANGE] : OUT_OF_RANGE;
      for (const value of values) {
        let caught: unknown;
        try {
          websocketComponent({ [option]: value } as WebSocketComponentOptions);
        } catch (error) {
          caught = error;
        }
        expect(caught, `${option}: ${value}`).toMatchObject({ code: 'SYSTEMGE_ERR_WS_CONFIG', option });
        expect((caught as Error).message).toContain('2147483647');
        expect((caught as Error).message).toContain(String(value));
      }
    },
  );
});
