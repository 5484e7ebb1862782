import { describe, expect, it } from 'vitest';
import { isSystemgeError, type SystemgeNode } from '../src/index.js';
import { forkNode } from './child-node.js';
import { endpointOf, startNode, until } from './helpers.js';

interface Order {
  id: number;
  items: { sku: string; qty: number }[];
  placed: Date;
  tags: Set<string>;
  note: string | null;
  big: bigint;
  blob: Uint8Array;
  nested: { deep: { ok: boolean } };
}

const order: Order = {
  id: 7,
  items: [
    { sku: 'a-1', qty: 2 },
    { sku: 'b-2', qty: 1 },
  ],
  placed: new Date('2026-01-02T03:04:05.678Z'),
  tags: new Set(['new', 'eu']),
  note: null,
  big: 2n ** 70n,
  blob: new Uint8Array([1, 2, 3]),
  nested: { deep: { ok: true } },
};

describe('structured payloads between nodes', () => {
  it('an object request and response cross a process boundary with their types', async () => {
    const child = await forkNode({ name: 'child' });
    const client = await startNode({ name: 'client', endpoints: [child.endpoint] });
    await until(() => client.peers().some((p) => p.name === 'child' && p.syncTopics.includes('inspect')), 10_000, 'child ready');
    const answer = (await client.syncRequest('inspect', order, { timeoutMs: 10_000 }).first()) as {
      by: string;
      echo: Order;
      at: Date;
    };
    expect(answer.by).toBe('child');
    expect(answer.at).toBeInstanceOf(Date);
    expect(answer.echo.placed).toBeInstanceOf(Date);
    expect(answer.echo.tags).toBeInstanceOf(Set);
    expect(typeof answer.echo.big).toBe('bigint');
    expect(answer.echo.blob).toBeInstanceOf(Uint8Array);
    expect({ ...answer.echo, blob: Buffer.from(answer.echo.blob) }).toEqual({ ...order, blob: Buffer.from(order.blob) });
    // Numbers, booleans and null are payloads too.
    for (const v of [0, 42.5, false, null, [1, 'two']]) {
      expect(((await client.syncRequest('inspect', v, { timeoutMs: 10_000 }).first()) as { echo: unknown }).echo).toEqual(v);
    }
  });

  it('async messages carry objects; strings and bytes keep their types', async () => {
    const seen: unknown[] = [];
    const server = await startNode({ name: 'server' }, { getAsyncMessageHandlers: () => ({ log: (m) => void seen.push(m.payload) }) });
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    await until(() => client.peers().some((p) => p.asyncTopics.includes('log')));
    client.asyncMessage('log', { level: 'info', n: 1 });
    client.asyncMessage('log', '{"level":"info"}');
    client.asyncMessage('log', new Uint8Array([9]));
    await until(() => seen.length === 3);
    expect(seen[0]).toEqual({ level: 'info', n: 1 });
    expect(seen[1]).toBe('{"level":"info"}');
    expect(seen[2]).toBeInstanceOf(Uint8Array);
    expect([...(seen[2] as Uint8Array)]).toEqual([9]);
  });

  it('a payload msgpack cannot encode is a typed error at the sender naming the topic; nothing reaches the peer', async () => {
    const seen: unknown[] = [];
    const server = await startNode(
      { name: 'server' },
      {
        getAsyncMessageHandlers: () => ({ log: (m) => void seen.push(m.payload) }),
        getSyncMessageHandlers: () => ({ ask: () => 'answer' }),
      },
    );
    const client: SystemgeNode = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    await until(() => client.peers().some((p) => p.asyncTopics.includes('log') && p.syncTopics.includes('ask')));

    let thrown: unknown;
    try {
      client.asyncMessage('log', { callback: () => 1 });
    } catch (error) {
      thrown = error;
    }
    expect(isSystemgeError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: 'SYSTEMGE_ERR_PAYLOAD_UNENCODABLE', topic: 'log' });
    expect((thrown as Error).message).toContain('"log"');

    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const request = client.syncRequest('ask', circular);
    await expect(request.first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_PAYLOAD_UNENCODABLE', topic: 'ask' });
    expect(request.outcome).toBe('failed');

    client.asyncMessage('log', 'after');
    await until(() => seen.length === 1);
    expect(seen).toEqual(['after']);
  });

  it('a handler answering with a value msgpack cannot encode sends a failure naming the topic', async () => {
    const server = await startNode(
      { name: 'server' },
      {
        getSyncMessageHandlers: () => ({
          fn: () => () => 1,
          nested: () => ({ run: Symbol('x') }),
          empty: () => undefined,
        }),
      },
    );
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    await until(() => client.peers().some((p) => p.syncTopics.includes('empty')));
    const [fn] = await client.syncRequest('fn', '').all();
    expect(fn).toMatchObject({ ok: false, code: 'SYSTEMGE_ERR_SYNC_FAILURE' });
    expect(fn?.ok === false && fn.error).toMatch(/handler for fn returned function/);
    const [nested] = await client.syncRequest('nested', '').all();
    expect(nested?.ok === false && nested.error).toMatch(/payload for topic "nested" cannot be encoded/);
    // A handler that returns nothing answers with `undefined`.
    expect(await client.syncRequest('empty', '').all()).toEqual([{ origin: 'server', ok: true, payload: undefined }]);
  });

  it('rate limits count the encoded bytes of a structured payload', async () => {
    let received = 0;
    const server = await startNode(
      { name: 'server', rateLimits: { bytesPerSecond: 100, burstSeconds: 1, onExceed: 'drop' } },
      { getAsyncMessageHandlers: () => ({ log: () => void received++ }) },
    );
    const client = await startNode({ name: 'client', endpoints: [endpointOf(server)] });
    await until(() => client.peers().some((p) => p.asyncTopics.includes('log')));
    client.asyncMessage('log', { text: 'x'.repeat(200) });
    client.asyncMessage('log', { n: 1 });
    await until(() => received === 1 && server.stats.rateLimitDrops === 1, 5000, 'one admitted, one dropped');
  });
});
