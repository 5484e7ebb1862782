import { describe, expect, it } from 'vitest';
import { websocketComponent, type WebSocketComponentApplication } from '../src/index.js';
import { startNode, TestClient } from './helpers.js';

/** Names that an object lookup would find on `Object.prototype`. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

const app: WebSocketComponentApplication = {
  getWebsocketMessageHandlers: () => ({ echo: (_client, message) => message.payload }),
};

describe('names that exist on Object.prototype', () => {
  it('are unknown topics: an error message naming the topic, counted, nothing about the server', async () => {
    const ws = websocketComponent();
    await startNode({ name: 'ws' }, app, [ws]);
    const c = await TestClient.open(ws.url as string);
    for (const topic of PROTOTYPE_NAMES) c.send(topic, 'x');
    c.send('echo', 'still served');
    await c.nth(PROTOTYPE_NAMES.length);
    expect(c.messages).toEqual([
      ...PROTOTYPE_NAMES.map((topic) => ({ topic: 'error', payload: `unknown topic ${JSON.stringify(topic)}` })),
      { topic: 'echo', payload: 'still served' },
    ]);
    expect(ws.getStats()).toMatchObject({ unknown_topics_total: PROTOTYPE_NAMES.length, handler_errors_total: 0, messages_out_total: 6 });
  });

  it('work as topics when the application defines them as its own handlers', async () => {
    const own: WebSocketComponentApplication = {
      getWebsocketMessageHandlers: () =>
        Object.fromEntries(
          PROTOTYPE_NAMES.map((topic) => [topic, (_c: unknown, m: { payload: unknown }) => `${topic}:${String(m.payload)}`]),
        ),
    };
    const ws = websocketComponent();
    await startNode({ name: 'ws' }, own, [ws]);
    const c = await TestClient.open(ws.url as string);
    for (const topic of PROTOTYPE_NAMES) c.send(topic, 1);
    await c.nth(PROTOTYPE_NAMES.length - 1);
    expect(c.messages).toEqual(PROTOTYPE_NAMES.map((topic) => ({ topic, payload: `${topic}:1` })));
    expect(ws.getStats()).toMatchObject({ unknown_topics_total: 0 });
  });

  it('are unknown client ids and empty groups, and can be group names', async () => {
    const ws = websocketComponent();
    const node = await startNode({ name: 'ws' }, app, [ws]);
    const c = await TestClient.open(ws.url as string);
    const [id] = ws.clients() as [string];
    for (const name of PROTOTYPE_NAMES) {
      expect(ws.client(name)).toBeUndefined();
      expect(ws.send(name, 'x', 1)).toBe(false);
      expect(ws.multicast([name], 'x', 1)).toBe(0);
      expect(ws.disconnect(name)).toBe(false);
      expect(ws.joinGroup(name, 'g')).toBe(false);
      expect(ws.leaveGroup(id, name)).toBe(false);
      expect(ws.groupMembers(name)).toEqual([]);
      expect(ws.groupcast(name, 'x', 1)).toBe(0);
      expect(await node.command('websocket:kick', [name])).toBe(`no client ${name}`);
    }
    expect(ws.groups()).toEqual([]);
    for (const name of PROTOTYPE_NAMES) expect(ws.joinGroup(id, name)).toBe(true);
    expect(ws.groups()).toEqual(PROTOTYPE_NAMES);
    for (const name of PROTOTYPE_NAMES) {
      expect(ws.groupMembers(name)).toEqual([id]);
      expect(ws.groupcast(name, 'to', name)).toBe(1);
    }
    await c.nth(PROTOTYPE_NAMES.length - 1);
    expect(c.messages).toEqual(PROTOTYPE_NAMES.map((name) => ({ topic: 'to', payload: name })));
    expect(await node.command('websocket:groups')).toEqual(Object.fromEntries(PROTOTYPE_NAMES.map((n) => [n, 1])));
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });
});
