import { describe, expect, it } from 'vitest';
import { endpointOf, startNode, until } from './helpers.js';

describe('per-connection incoming rate limits', () => {
  it('backpressure mode holds a 10x sender to the rate and loses nothing', async () => {
    const received: number[] = [];
    const server = await startNode(
      { name: 'server', rateLimits: { messagesPerSecond: 100, burstSeconds: 0.1, onExceed: 'backpressure' } },
      { getAsyncMessageHandlers: () => ({ tick: (m) => void received.push(Number(m.payload)) }) },
    );
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    const total = 100;
    const started = performance.now();
    for (let i = 0; i < total; i++) client.asyncMessage('tick', String(i));
    await until(() => received.length === total, 10_000, 'all messages');
    const seconds = (performance.now() - started) / 1000;
    // 10 in the burst, then 100/s: about 0.9 s; the sender offered them all at once.
    expect(seconds).toBeGreaterThan(0.6);
    expect(seconds).toBeLessThan(3);
    expect(received).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(server.stats.rateLimitDrops).toBe(0);
    expect(server.stats.rateLimited).toBeGreaterThan(0);
  });

  it('drop mode counts every dropped message and answers dropped sync requests', async () => {
    let received = 0;
    const server = await startNode(
      { name: 'server', rateLimits: { messagesPerSecond: 10, burstSeconds: 1, onExceed: 'drop' } },
      {
        getAsyncMessageHandlers: () => ({ tick: () => void received++ }),
        getSyncMessageHandlers: () => ({ ask: () => 'ok' }),
      },
    );
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    for (let i = 0; i < 100; i++) client.asyncMessage('tick', 'x');
    await until(() => received + server.stats.rateLimitDrops === 100, 5000, 'all messages accounted for');
    expect(received).toBeGreaterThanOrEqual(10);
    expect(received).toBeLessThan(20);
    expect(server.stats.rateLimitDrops).toBe(100 - received);
    const [response] = await client.syncRequest('ask', '').all();
    expect(response).toMatchObject({ ok: false, error: expect.stringContaining('rate limit') });
  });
});
