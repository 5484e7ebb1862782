import { FrameKind, type MessageFrame } from '@systemge/protocol';
import { tcpTransport } from '@systemge/transport-tcp';
import { describe, expect, it } from 'vitest';
import { createNode, type NodeConfig } from '../src/index.js';
import { endpointOf, startNode, until } from './helpers.js';
import { RawPeer } from './raw-peer.js';

/** Names that an object lookup would find on `Object.prototype`. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

const isAnswer =
  (token: string) =>
  (f: { kind: number; syncToken?: string }): f is MessageFrame =>
    (f.kind === FrameKind.SyncResponse || f.kind === FrameKind.SyncFailure) && f.syncToken === token;

describe('names that exist on Object.prototype', () => {
  it('are topics without a handler: a sync request fails with "no handler", an async message is counted', async () => {
    const node = await startNode(
      { name: 'n' },
      { getSyncMessageHandlers: () => ({ known: () => 'ok' }), getAsyncMessageHandlers: () => ({ seen: () => {} }) },
    );
    const { peer } = await RawPeer.handshake(node.address!.port);
    for (const topic of PROTOTYPE_NAMES) {
      peer.send({ kind: FrameKind.SyncRequest, topic, payload: 'x', syncToken: `t-${topic}` });
      expect(await peer.next(isAnswer(`t-${topic}`))).toMatchObject({
        kind: FrameKind.SyncFailure,
        topic,
        payload: `no handler for topic ${topic}`,
      });
      peer.send({ kind: FrameKind.AsyncMessage, topic, payload: 'x', syncToken: undefined });
    }
    await until(() => node.stats.noHandlerMessages === 2 * PROTOTYPE_NAMES.length, 5000, 'no-handler messages counted');
    peer.send({ kind: FrameKind.SyncRequest, topic: 'known', payload: '', syncToken: 'after' });
    expect(await peer.next(isAnswer('after'))).toMatchObject({ kind: FrameKind.SyncResponse, payload: 'ok' });
    expect(node.stats.handlerErrors).toBe(0);
  });

  it('work as topics a node defines as its own handlers, and are counted per topic', async () => {
    const got: string[] = [];
    const server = await startNode(
      { name: 'server' },
      {
        getSyncMessageHandlers: () => Object.fromEntries(PROTOTYPE_NAMES.map((t) => [t, () => `sync ${t}`])),
        getAsyncMessageHandlers: () => Object.fromEntries(PROTOTYPE_NAMES.map((t) => [t, () => void got.push(t)])),
      },
    );
    const client = await startNode({ name: 'client', listen: false, endpoints: [endpointOf(server)] });
    await until(() => client.peers().length === 1);
    for (const topic of PROTOTYPE_NAMES) {
      expect(await client.syncRequest(topic, 'x').first()).toBe(`sync ${topic}`);
      client.asyncMessage(topic, 'x');
    }
    await until(() => got.length === PROTOTYPE_NAMES.length, 5000, 'async messages handled');
    expect(got).toEqual(PROTOTYPE_NAMES);
    // Responses are not counted as sent on a topic; requests and async messages are received.
    const topics = server.stats.topics;
    expect(Object.keys(topics).sort()).toEqual([...PROTOTYPE_NAMES].sort());
    for (const topic of PROTOTYPE_NAMES) expect(Object.getOwnPropertyDescriptor(topics, topic)?.value).toEqual({ received: 2, sent: 0 });
  });

  it('are unknown commands unless the application defines them', async () => {
    const plain = await startNode({ name: 'plain', listen: false });
    for (const name of PROTOTYPE_NAMES) {
      await expect(plain.command(name)).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_UNKNOWN_COMMAND' });
    }
    const own = await startNode(
      { name: 'own', listen: false },
      { getCommandHandlers: () => Object.fromEntries(PROTOTYPE_NAMES.map((n) => [n, () => `command ${n}`])) },
    );
    for (const name of PROTOTYPE_NAMES) expect(await own.command(name)).toBe(`command ${name}`);
  });

  it('are unknown config fields, at the top and nested, also from a parsed file', () => {
    const transport = tcpTransport();
    for (const name of PROTOTYPE_NAMES) {
      // JSON.parse makes `__proto__` an own field, as a config file would.
      for (const [config, path] of [
        [{ ...JSON.parse(`{"${name}": 1}`), name: 'n', transport }, name],
        [{ name: 'n', transport, sync: JSON.parse(`{"${name}": 1}`) }, `sync.${name}`],
        [{ name: 'n', transport, limits: JSON.parse(`{"${name}": 1}`) }, `limits.${name}`],
      ] as const) {
        expect(() => createNode(config as NodeConfig), path).toThrow(
          expect.objectContaining({ code: 'SYSTEMGE_ERR_INVALID_CONFIG', path, message: expect.stringContaining('unknown field') }),
        );
      }
    }
  });
});
