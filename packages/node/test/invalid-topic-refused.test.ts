import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tcpTransport } from '@systemge/transport-tcp';
import { describe, expect, it } from 'vitest';
import { createNode, type Logger } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';

function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected a throw');
}

describe('a topic peers would refuse is refused when it is added', () => {
  it.each([
    ['257 bytes', 'x'.repeat(257), /invalid topic "x{40}…" \(257 characters\): 257 bytes \(UTF-8\) exceeds limits.maxTopicBytes 256/],
    ['129 two-byte characters (258 bytes)', 'é'.repeat(129), /258 bytes \(UTF-8\) exceeds limits.maxTopicBytes 256/],
    ['empty', '', /invalid topic "": a topic must not be empty/],
    ['a lone surrogate', 'a\uD800b', /well-formed Unicode/],
  ])('addSyncTopic and addAsyncTopic refuse a topic of %s with SYSTEMGE_ERR_INVALID_TOPIC', async (_what, topic, message) => {
    const node = await startNode({ name: 'n' });
    for (const add of [() => node.addSyncTopic(topic, () => 'x'), () => node.addAsyncTopic(topic, () => {})]) {
      const error = thrown(add);
      expect(error.code).toBe('SYSTEMGE_ERR_INVALID_TOPIC');
      expect(String(error.message)).toMatch(message);
      expect(error.limit).toBe(256);
    }
    expect(node.topics()).toEqual({ asyncTopics: [], syncTopics: [] });
  });

  it('follows a configured limits.maxTopicBytes', async () => {
    const node = await startNode({ name: 'n', limits: { maxTopicBytes: 8 } });
    expect(thrown(() => node.addAsyncTopic('123456789', () => {}))).toMatchObject({
      code: 'SYSTEMGE_ERR_INVALID_TOPIC',
      bytes: 9,
      limit: 8,
    });
    node.addAsyncTopic('12345678', () => {});
    expect(node.topics().asyncTopics).toEqual(['12345678']);
  });

  it('after rejected adds, new peers still connect over TCP and see the valid topics; connected peers keep working', async () => {
    const server = await startNode({ name: 'server' }, { getSyncMessageHandlers: () => ({ first: () => 'one' }) });
    const early = await startNode({ name: 'early', endpoints: [endpointOf(server)] });
    expect(() => server.addSyncTopic('x'.repeat(257), () => 'never')).toThrow(/maxTopicBytes/);
    expect(() => server.addAsyncTopic('', () => {})).toThrow(/must not be empty/);
    server.addSyncTopic('second', () => 'two');
    await until(() => early.peers()[0]?.syncTopics.includes('second') === true, 5000, 'early peer sees "second"');
    expect(early.peers()[0]?.syncTopics).toEqual(['first', 'second']);

    const late = await startNode({ name: 'late', connection: { maxAttempts: 1 }, endpoints: [endpointOf(server)] });
    expect(late.peers().map((p) => p.name)).toEqual(['server']);
    expect(late.peers()[0]?.syncTopics).toEqual(['first', 'second']);
    expect(await late.syncRequest('second', '').first()).toBe('two');
    expect(await early.syncRequest('first', '').first()).toBe('one');
    expect(server.stats.handshakeFailures).toBe(0);
  });
});

describe('a handler map with a topic peers would refuse', () => {
  it.each([
    ['getSyncMessageHandlers', { getSyncMessageHandlers: () => ({ ok: () => 'x', ['t'.repeat(300)]: () => 'x' }) }],
    ['getAsyncMessageHandlers', { getAsyncMessageHandlers: () => ({ '': () => {} }) }],
  ])('from %s fails createNode with SYSTEMGE_ERR_INVALID_CONFIG naming it, and binds no port', async (method, app) => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const error = thrown(() => createNode({ name: 'n', transport: tcpTransport(), listen: { host: '127.0.0.1', port } }, app));
    expect(error.code).toBe('SYSTEMGE_ERR_INVALID_CONFIG');
    expect(error.path).toBe(`application.${method}()`);
    expect(error.cause).toMatchObject({ code: 'SYSTEMGE_ERR_INVALID_TOPIC' });
    // The port is free: nothing was bound.
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });

  it('added by a plugin at start: start() rejects with SYSTEMGE_ERR_INVALID_TOPIC and leaves no port bound', async () => {
    let port: number | undefined;
    const noop = (): void => {};
    const logger: Logger = {
      trace: noop,
      debug: noop,
      warn: noop,
      error: noop,
      info: (obj: object | string) => {
        if (typeof obj === 'object' && 'port' in obj) port = (obj as { port: number }).port;
      },
      child: () => logger,
    };
    const node = createNode(
      { name: 'n', transport: tcpTransport() },
      {},
      {
        logger,
        plugins: [{ name: 'bad', start: ({ node: n }) => n.addSyncTopic('p'.repeat(300), () => 'x'), stop: noop }],
      },
    );
    await expect(node.start()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_INVALID_TOPIC', bytes: 300, limit: 256 });
    expect(node.status).toBe('stopped');
    expect(node.address).toBeUndefined();
    expect(port).toBeGreaterThan(0);
    // The port it had bound is free again.
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => again.close(() => resolve()));
  });
});
