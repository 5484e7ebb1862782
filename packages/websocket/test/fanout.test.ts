import { describe, expect, it } from 'vitest';
import { websocketComponent, type WebSocketClient, type WebSocketComponentApplication } from '../src/index.js';
import { startNode, TestClient, until } from './helpers.js';

const CLIENTS = 200;
const GROUPS = ['red', 'green', 'blue', 'yellow'];

describe('groups and fan-out with 200 clients', () => {
  it('groupcast reaches exactly the group, broadcast reaches all, each client sees its messages in order', async () => {
    const connected: WebSocketClient[] = [];
    const app: WebSocketComponentApplication = {
      onConnect: (client) => void connected.push(client),
      getWebsocketMessageHandlers: () => ({
        join: (client, message) => {
          ws.joinGroup(client.id, String(message.payload));
          return [...client.groups];
        },
        leave: (client, message) => ws.leaveGroup(client.id, String(message.payload)),
      }),
    };
    const ws = websocketComponent({ maxClients: CLIENTS });
    await startNode({ name: 'fanout' }, app, [ws]);
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => TestClient.open(ws.url as string)));
    await until(() => connected.length === CLIENTS, 10000, 'all clients connected');

    // Client i joins group i % 4 through a message, and also group "even" when i is even.
    clients.forEach((c, i) => {
      c.send('join', GROUPS[i % GROUPS.length]);
      if (i % 2 === 0) c.send('join', 'even');
    });
    await until(() => clients.every((c, i) => c.messages.length === (i % 2 === 0 ? 2 : 1)), 10000, 'join replies');
    expect(ws.groups().sort()).toEqual([...GROUPS, 'even'].sort());
    expect(ws.groupMembers('red')).toHaveLength(CLIENTS / 4);
    expect(ws.groupMembers('even')).toHaveLength(CLIENTS / 2);
    for (const c of clients) c.messages.length = 0;

    const ROUNDS = 20;
    for (let r = 0; r < ROUNDS; r++) {
      expect(ws.groupcast('red', 'seq', { group: 'red', r })).toBe(CLIENTS / 4);
      expect(ws.groupcast('even', 'seq', { group: 'even', r })).toBe(CLIENTS / 2);
      expect(ws.broadcast('seq', { group: 'all', r })).toBe(CLIENTS);
    }
    expect(ws.groupcast('no-such-group', 'seq', 1)).toBe(0);
    const expectedCount = (i: number): number => ROUNDS * (1 + (i % 4 === 0 ? 1 : 0) + (i % 2 === 0 ? 1 : 0));
    await until(() => clients.every((c, i) => c.messages.length === expectedCount(i)), 10000, 'fan-out delivered');

    clients.forEach((c, i) => {
      const got = c.messages.map((m) => m.payload as { group: string; r: number });
      const groups = new Set(got.map((g) => g.group));
      const expected = new Set(['all', ...(i % 4 === 0 ? ['red'] : []), ...(i % 2 === 0 ? ['even'] : [])]);
      expect(groups).toEqual(expected);
      // Per client, the order of sending is kept: within each stream rounds ascend, and the interleaving is the send order.
      const order = [...expected].length;
      const sendOrder = ['red', 'even', 'all'].filter((g) => expected.has(g));
      got.forEach((g, k) => {
        expect(g.r).toBe(Math.floor(k / order));
        expect(g.group).toBe(sendOrder[k % order]);
      });
    });
    expect(ws.getStats()).toMatchObject({ clients: CLIENTS, groups: 5 });
  }, 30000);

  it('removes a client from its groups when it leaves or disconnects, and empty groups vanish', async () => {
    const ws = websocketComponent();
    await startNode({ name: 'groups' }, {}, [ws]);
    const [a, b] = await Promise.all([TestClient.open(ws.url as string), TestClient.open(ws.url as string)]);
    await until(() => ws.clients().length === 2);
    const [idA, idB] = ws.clients() as [string, string];
    expect(ws.joinGroup(idA, 'room')).toBe(true);
    expect(ws.joinGroup(idB, 'room')).toBe(true);
    expect(ws.joinGroup(idA, 'solo')).toBe(true);
    expect(ws.joinGroup('unknown', 'room')).toBe(false);
    expect(ws.client(idA)?.groups).toEqual(new Set(['room', 'solo']));
    expect(ws.leaveGroup(idA, 'solo')).toBe(true);
    expect(ws.leaveGroup(idA, 'solo')).toBe(false);
    expect(ws.groups()).toEqual(['room']);
    expect(ws.groupMembers('room').sort()).toEqual([idA, idB].sort());

    expect(ws.groupcast('room', 'hello', 'room')).toBe(2);
    await until(() => a.messages.length === 1 && b.messages.length === 1, 5000, 'groupcast to room');
    a.ws.close();
    b.ws.close();
    await until(() => ws.clients().length === 0);
    expect(ws.groups()).toEqual([]);
    expect(ws.groupMembers('room')).toEqual([]);
    expect(ws.getStats()).toMatchObject({ clients: 0, groups: 0 });
  });
});
