import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { websocketComponent, type DisconnectReason, type WebSocketComponentApplication } from '../src/index.js';
import { startNode, TestClient, until } from './helpers.js';

function chatApp(log: string[] = []): WebSocketComponentApplication {
  return {
    getWebsocketMessageHandlers: () => ({
      echo: (_client, message) => message.payload,
      later: async (_client, message) => ({ later: message.payload }),
      quiet: (client, message) => {
        log.push(`${client.id}:${String(message.payload)}`);
      },
      boom: () => {
        throw new Error('handler exploded');
      },
      reject: async () => Promise.reject(new Error('async handler exploded')),
    }),
  };
}

describe('WebSocket messaging', () => {
  it('dispatches {topic, payload} to handlers and sends back what they return', async () => {
    const log: string[] = [];
    const ws = websocketComponent();
    await startNode({ name: 'ws' }, chatApp(log), [ws]);
    expect(ws.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    const c = await TestClient.open(ws.url as string);
    c.send('echo', { n: 1 });
    expect(await c.nth(0)).toEqual({ topic: 'echo', payload: { n: 1 } });
    c.send('later', 'x');
    expect(await c.nth(1)).toEqual({ topic: 'later', payload: { later: 'x' } });
    c.send('quiet', 'shh');
    c.send('echo', 'after quiet');
    expect(await c.nth(2)).toEqual({ topic: 'echo', payload: 'after quiet' });
    expect(log).toEqual([`${ws.clients()[0]}:shh`]);
    expect(ws.getStats()).toMatchObject({ clients: 1, messages_in_total: 4, messages_out_total: 3 });
  });

  it('answers unknown topics, handler errors and malformed input with an error message and keeps the client', async () => {
    const ws = websocketComponent();
    await startNode({ name: 'ws' }, chatApp(), [ws]);
    const c = await TestClient.open(ws.url as string);
    c.send('nobody', 1);
    c.send('boom');
    c.send('reject');
    c.sendRaw('this is not json');
    c.sendRaw('{"payload": 1}');
    c.sendRaw('{"topic": "", "payload": 1}');
    c.sendRaw('[1, 2]');
    c.sendRaw(Buffer.from([1, 2, 3]), true);
    c.send('echo', 'still here');
    await c.nth(8);
    // An async handler answers when it settles, possibly after later messages were answered.
    const asyncAnswer = { topic: 'error', payload: 'async handler exploded' };
    expect(c.messages).toContainEqual(asyncAnswer);
    expect(c.messages.filter((m) => m.payload !== asyncAnswer.payload)).toEqual([
      { topic: 'error', payload: 'unknown topic "nobody"' },
      { topic: 'error', payload: 'handler exploded' },
      { topic: 'error', payload: 'invalid message: not JSON' },
      { topic: 'error', payload: 'invalid message: "topic" must be a non-empty string' },
      { topic: 'error', payload: 'invalid message: "topic" must be a non-empty string' },
      { topic: 'error', payload: 'invalid message: expected an object {"topic": string, "payload": any}' },
      { topic: 'error', payload: 'invalid message: binary frames are not enabled' },
      { topic: 'echo', payload: 'still here' },
    ]);
    expect(ws.getStats()).toMatchObject({ unknown_topics_total: 1, handler_errors_total: 2, invalid_messages_total: 5 });
  });

  it('accepts msgpack binary frames when enabled and answers in kind', async () => {
    const packr = new Packr({ useRecords: false });
    const ws = websocketComponent({ binary: true });
    await startNode({ name: 'ws' }, chatApp(), [ws]);
    const c = await TestClient.open(ws.url as string);
    c.sendRaw(packr.pack({ topic: 'echo', payload: { bytes: new Uint8Array([9, 8, 7]), n: 5 } }), true);
    const reply = await c.nth(0);
    expect(reply.topic).toBe('(binary)');
    const decoded = packr.unpack(reply.payload as Buffer) as { topic: string; payload: { bytes: Uint8Array; n: number } };
    expect(decoded.topic).toBe('echo');
    expect(Array.from(decoded.payload.bytes)).toEqual([9, 8, 7]);
    expect(decoded.payload.n).toBe(5);
    c.sendRaw(Buffer.from([0x82, 0xa5]), true);
    const bad = packr.unpack((await c.nth(1)).payload as Buffer) as { topic: string; payload: string };
    expect(bad).toEqual({ topic: 'error', payload: 'invalid message: not msgpack' });
    c.send('echo', 'text again');
    expect(await c.nth(2)).toEqual({ topic: 'echo', payload: 'text again' });
  });

  it('calls onConnect and onDisconnect exactly once per client, also when a socket vanishes without a close frame', async () => {
    const connects: string[] = [];
    const disconnects: [string, DisconnectReason][] = [];
    const ws = websocketComponent();
    const app: WebSocketComponentApplication = {
      onConnect: (client) => void connects.push(client.id),
      onDisconnect: (client, reason) => void disconnects.push([client.id, reason]),
    };
    const node = await startNode({ name: 'ws' }, app, [ws]);
    const clients = await Promise.all(Array.from({ length: 6 }, () => TestClient.open(ws.url as string)));
    await until(() => connects.length === 6);
    const [polite, vanishing, kicked, ...rest] = clients as [TestClient, TestClient, TestClient, ...TestClient[]];

    polite.ws.close(1000, 'bye');
    (vanishing.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    expect(ws.disconnect(connects[2] as string, 4000, 'go away')).toBe(true);
    await until(() => disconnects.length === 3, 5000, 'three disconnects');
    const reasons = new Map(disconnects);
    expect(reasons.get(connects[0] as string)).toEqual({ code: 1000, reason: 'bye', initiator: 'client' });
    expect(reasons.get(connects[1] as string)).toEqual({
      code: 1006,
      reason: 'connection lost without a close frame',
      initiator: 'client',
    });
    expect(reasons.get(connects[2] as string)).toEqual({ code: 4000, reason: 'go away', initiator: 'server' });
    expect((await kicked.waitClosed()).code).toBe(4000);

    await node.stop();
    expect(disconnects).toHaveLength(6);
    for (const c of rest) expect((await c.waitClosed()).code).toBe(1001);
    expect(new Set(disconnects.map(([id]) => id))).toEqual(new Set(connects));
    expect(disconnects.slice(3).every(([, r]) => r.code === 1001 && r.initiator === 'server')).toBe(true);
    expect(ws.clients()).toEqual([]);
  });

  it('gives every client an unguessable unique id and sends to one or many by id', async () => {
    const ws = websocketComponent();
    await startNode({ name: 'ws' }, {}, [ws]);
    const clients = await Promise.all(Array.from({ length: 5 }, () => TestClient.open(ws.url as string)));
    await until(() => ws.clients().length === 5);
    const ids = ws.clients();
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    expect(ws.send(ids[0] as string, 'direct', 'only you')).toBe(true);
    expect(ws.send('not-a-client', 'direct', 'nobody')).toBe(false);
    expect(ws.multicast([ids[1] as string, ids[2] as string, 'gone'], 'multi', 42)).toBe(2);
    const byId = new Map<string, TestClient>();
    // Map sockets to ids through a round trip: the server echoes the id it knows each client by.
    for (const id of ids) ws.send(id, 'whoami', id);
    for (const c of clients) {
      await until(() => c.messages.some((m) => m.topic === 'whoami'));
      byId.set(c.messages.find((m) => m.topic === 'whoami')?.payload as string, c);
    }
    expect(byId.get(ids[0] as string)?.messages.map((m) => m.topic)).toEqual(['direct', 'whoami']);
    expect(byId.get(ids[1] as string)?.messages.map((m) => m.topic)).toEqual(['multi', 'whoami']);
    expect(byId.get(ids[2] as string)?.messages.map((m) => m.topic)).toEqual(['multi', 'whoami']);
    expect(byId.get(ids[3] as string)?.messages.map((m) => m.topic)).toEqual(['whoami']);
    expect(() => ws.send(ids[0] as string, '', 'x')).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_WS_ENCODE' }));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => ws.broadcast('loop', circular)).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_WS_ENCODE' }));
  });

  it('reports clients and groups through node commands as data', async () => {
    const ws = websocketComponent();
    const node = await startNode({ name: 'ws' }, {}, [ws]);
    await Promise.all([TestClient.open(ws.url as string), TestClient.open(ws.url as string)]);
    await until(() => ws.clients().length === 2);
    const [first] = ws.clients();
    ws.joinGroup(first as string, 'room');
    expect(await node.command('websocket:groups')).toEqual({ room: 1 });
    const clients = (await node.command('websocket:clients')) as { id: string; groups: string[] }[];
    expect(clients).toHaveLength(2);
    expect(clients.find((c) => c.id === first)).toMatchObject({ groups: ['room'], remote: '127.0.0.1', bufferedBytes: 0 });
  });

  it('rejects invalid options with SYSTEMGE_ERR_WS_CONFIG naming the option', () => {
    const bad: [Parameters<typeof websocketComponent>[0], string][] = [
      [{ maxMessageBytes: 0 }, 'maxMessageBytes'],
      [{ path: 'ws' }, 'path'],
      [{ origins: ['not a url'] }, 'origins[0]'],
      [{ onRateLimit: 'drop' as never }, 'onRateLimit'],
      [{ maxMessageBytes: 1000, byteBurst: 10 }, 'byteBurst'],
      [{ maxBufferedBytes: 1000, hardMaxBufferedBytes: 999 }, 'hardMaxBufferedBytes'],
    ];
    for (const [options, option] of bad) {
      expect(() => websocketComponent(options)).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_WS_CONFIG', option }));
    }
  });
});
