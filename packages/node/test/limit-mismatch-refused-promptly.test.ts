import { describe, expect, it } from 'vitest';
import type { SystemgeError } from '@systemge/protocol';
import { endpointOf, nextEvent, startNode, until } from './helpers.js';

/*
 * Peers with different limits: what one side would refuse is refused promptly, with
 * SYSTEMGE_ERR_FIELD_TOO_LARGE naming the limit, never a handshake timeout. The handshake
 * timeout is set far above what any assertion waits for, so a timeout cannot pass these tests.
 */

const slowTimeout = { handshakeTimeoutMs: 60_000, maxAttempts: 1 };

async function connectError(promise: Promise<unknown>): Promise<{ error: SystemgeError; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    return { error: error as SystemgeError, ms: Date.now() - started };
  }
  throw new Error('expected the connection to be refused');
}

function rootCause(error: unknown): SystemgeError {
  let e = error as SystemgeError & { cause?: unknown };
  while (e.cause instanceof Error && e.code === 'SYSTEMGE_ERR_CONNECT_ATTEMPTS') e = e.cause as SystemgeError;
  return e;
}

describe('limit mismatches between peers', () => {
  it('a 40-byte node name dialing a peer with maxNodeNameBytes 32 is refused at once with FIELD_TOO_LARGE', async () => {
    const server = await startNode({ name: 'server', limits: { maxNodeNameBytes: 32 }, connection: slowTimeout });
    const client = await startNode({ name: 'c'.repeat(40), listen: false, connection: slowTimeout });
    const { error, ms } = await connectError(client.connect(endpointOf(server)));
    const cause = rootCause(error);
    expect(cause.code).toBe('SYSTEMGE_ERR_FIELD_TOO_LARGE');
    expect(cause.message).toContain('name of 40 bytes exceeds maxNodeNameBytes 32');
    expect(ms).toBeLessThan(20_000);
    expect(server.stats.handshakeFailures).toBe(1);
    expect(server.peers()).toEqual([]);
  });

  it('a listener whose name is too long for the dialer refuses it at once, naming the dialer limit', async () => {
    const server = await startNode({ name: 's'.repeat(40), connection: slowTimeout });
    const client = await startNode({ name: 'client', listen: false, limits: { maxNodeNameBytes: 32 }, connection: slowTimeout });
    const { error, ms } = await connectError(client.connect(endpointOf(server)));
    const cause = rootCause(error);
    expect(cause.code).toBe('SYSTEMGE_ERR_FIELD_TOO_LARGE');
    expect(cause.message).toContain('name of 40 bytes exceeds maxNodeNameBytes 32');
    expect(ms).toBeLessThan(20_000);
    expect(client.peers()).toEqual([]);
  });

  it('a 100-byte topic is not announced to a listener with maxTopicBytes 64: the dialer connects and warns', async () => {
    const server = await startNode({ name: 'server', limits: { maxTopicBytes: 64 }, connection: slowTimeout });
    const long = 't'.repeat(100);
    const client = await startNode(
      { name: 'client', listen: false, connection: slowTimeout },
      { getAsyncMessageHandlers: () => ({ [long]: () => {}, short: () => {} }) },
    );
    const warning = nextEvent<[SystemgeError]>(client, 'warning', 20_000);
    const started = Date.now();
    await client.connect(endpointOf(server));
    expect(Date.now() - started).toBeLessThan(20_000);
    const [error] = await warning;
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'topic', size: 100, limit: 64 });
    expect(error.message).toBe('topic of 100 bytes exceeds maxTopicBytes 64 of peer "server"');
    const seen = server.peers().find((p) => p.name === 'client');
    expect(seen?.asyncTopics).toEqual(['short']);
  });

  it('a listener topic too large for the dialer is left out of its answer, with a warning on the listener', async () => {
    const long = 'u'.repeat(100);
    const server = await startNode(
      { name: 'server', connection: slowTimeout },
      { getSyncMessageHandlers: () => ({ [long]: () => 'x', short: () => 'ok' }) },
    );
    const warning = nextEvent<[SystemgeError]>(server, 'warning', 20_000);
    const client = await startNode({ name: 'client', listen: false, limits: { maxTopicBytes: 64 }, connection: slowTimeout });
    const info = await client.connect(endpointOf(server));
    expect(info.syncTopics).toEqual(['short']);
    const [error] = await warning;
    expect(error.message).toBe('topic of 100 bytes exceeds maxTopicBytes 64 of peer "client"');
    expect(await client.syncRequest('short', '').first()).toBe('ok');
  });

  it('a topic added later that the peer would refuse is not announced to it; the link stays up', async () => {
    const server = await startNode({ name: 'server', limits: { maxTopicBytes: 64 } });
    const client = await startNode({ name: 'client', listen: false }, { getAsyncMessageHandlers: () => ({ a: () => {} }) });
    await client.connect(endpointOf(server));
    client.addAsyncTopic('v'.repeat(100), () => {});
    client.addAsyncTopic('b', () => {});
    await until(() => server.peers()[0]?.asyncTopics.includes('b') === true, 5000, 'topic b announced');
    expect(server.peers()[0]?.asyncTopics).toEqual(['a', 'b']);
  });

  it('a message over the peer maxPayloadBytes fails at the sender with FIELD_TOO_LARGE naming the peer limit', async () => {
    const server = await startNode(
      { name: 'server', limits: { maxPayloadBytes: 1024 } },
      { getSyncMessageHandlers: () => ({ echo: (m) => m.payload }), getAsyncMessageHandlers: () => ({ note: () => {} }) },
    );
    const client = await startNode({ name: 'client', listen: false, sync: { timeoutMs: 60_000 } });
    await client.connect(endpointOf(server));
    const big = 'p'.repeat(2000);
    let thrown: unknown;
    try {
      client.asyncMessage('note', big);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'payload', limit: 1024 });
    expect((thrown as Error).message).toBe('payload of 2000 bytes exceeds maxPayloadBytes 1024 of peer "server"');
    const started = Date.now();
    await expect(client.syncRequest('echo', big).first()).rejects.toMatchObject({
      code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE',
      message: 'payload of 2000 bytes exceeds maxPayloadBytes 1024 of peer "server"',
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await client.syncRequest('echo', 'p'.repeat(1024)).first()).toBe('p'.repeat(1024));
  });
});

describe('a limit mismatch is a final refusal', () => {
  it('is not retried: with maxAttempts 5 the dial rejects with FIELD_TOO_LARGE itself after one attempt', async () => {
    const server = await startNode({ name: 'server', limits: { maxNodeNameBytes: 32 } });
    const client = await startNode({
      name: 'd'.repeat(40),
      listen: false,
      connection: { maxAttempts: 5, initialDelayMs: 10, handshakeTimeoutMs: 60_000 },
    });
    let attempts = 0;
    client.on('connect:attempt', () => attempts++);
    const { error } = await connectError(client.connect(endpointOf(server)));
    expect(error.code).toBe('SYSTEMGE_ERR_FIELD_TOO_LARGE');
    expect(attempts).toBe(1);
    expect(server.stats.handshakeFailures).toBe(1);
  });
});
