import { httpComponent } from '@systemge/http';
import { describe, expect, it } from 'vitest';
import { websocketComponent, type DisconnectReason, type WebSocketComponentApplication } from '../src/index.js';
import { onTeardown, startNode, TestClient, until } from './helpers.js';

const echoApp = (extra: WebSocketComponentApplication = {}): WebSocketComponentApplication => ({
  getWebsocketMessageHandlers: () => ({ echo: (_c, m) => m.payload }),
  ...extra,
});

describe('WebSocket limits', () => {
  it('closes a client that sends a message over maxMessageBytes with 1009 and keeps serving others', async () => {
    const disconnects: DisconnectReason[] = [];
    const ws = websocketComponent({ maxMessageBytes: 1024 });
    await startNode({ name: 'ws' }, echoApp({ onDisconnect: (_c, r) => void disconnects.push(r) }), [ws]);
    const [big, other] = await Promise.all([TestClient.open(ws.url as string), TestClient.open(ws.url as string)]);
    big.send('echo', 'x'.repeat(900));
    expect((await big.nth(0)).payload).toBe('x'.repeat(900));
    big.send('echo', 'x'.repeat(2000));
    expect((await big.waitClosed()).code).toBe(1009);
    await until(() => disconnects.length === 1);
    expect(disconnects[0]).toMatchObject({ code: 1009, initiator: 'server' });
    other.send('echo', 'fine');
    expect((await other.nth(0)).payload).toBe('fine');
    expect(ws.getStats()).toMatchObject({ oversize_messages_total: 1, clients: 1 });
  });

  it('refuses a wrong Origin with 403 before upgrading, and admits listed ones', async () => {
    let connects = 0;
    const ws = websocketComponent({ origins: ['https://app.example.com'], allowMissingOrigin: false });
    await startNode({ name: 'ws' }, echoApp({ onConnect: () => void connects++ }), [ws]);
    await expect(TestClient.open(ws.url as string, { origin: 'https://evil.example.com' })).rejects.toMatchObject({ statusCode: 403 });
    await expect(TestClient.open(ws.url as string)).rejects.toMatchObject({ statusCode: 403 });
    const good = await TestClient.open(ws.url as string, { origin: 'https://APP.example.com' });
    good.send('echo', 'hi');
    expect((await good.nth(0)).payload).toBe('hi');
    expect(connects).toBe(1);
    expect(ws.getStats()).toMatchObject({ refused_origin_total: 2, connections_total: 1 });
  });

  it('refuses clients over maxClients with 503', async () => {
    const ws = websocketComponent({ maxClients: 2 });
    await startNode({ name: 'ws' }, echoApp(), [ws]);
    await TestClient.open(ws.url as string);
    await TestClient.open(ws.url as string);
    await expect(TestClient.open(ws.url as string)).rejects.toMatchObject({ statusCode: 503 });
    expect(ws.getStats()).toMatchObject({ refused_full_total: 1, clients: 2 });
  });

  it('answers a flood over the message rate with errors, drops it, and keeps serving another client', async () => {
    const ws = websocketComponent({ messagesPerSecond: 50, messageBurst: 20, onRateLimit: 'error' });
    const handled: number[] = [];
    const app: WebSocketComponentApplication = {
      getWebsocketMessageHandlers: () => ({
        count: (_c, m) => void handled.push(m.payload as number),
        echo: (_c, m) => m.payload,
      }),
    };
    await startNode({ name: 'ws' }, app, [ws]);
    const [flooder, calm] = await Promise.all([TestClient.open(ws.url as string), TestClient.open(ws.url as string)]);
    const FLOOD = 500;
    for (let i = 0; i < FLOOD; i++) flooder.send('count', i);
    calm.send('echo', 'still served');
    expect((await calm.nth(0)).payload).toBe('still served');
    await until(() => handled.length + flooder.messages.length === FLOOD, 5000, 'flood accounted for');
    // The burst passes (plus what refilled meanwhile); the rest is refused, each with an error.
    expect(handled.length).toBeGreaterThanOrEqual(20);
    expect(handled.length).toBeLessThan(100);
    expect(handled.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(flooder.messages[0]).toEqual({ topic: 'error', payload: 'rate limit exceeded (50 messages/s, 1048576 bytes/s)' });
    expect(ws.getStats().rate_limited_total).toBe(FLOOD - handled.length);
    expect(flooder.ws.readyState).toBe(flooder.ws.OPEN);
  });

  it('closes a client over the byte rate with 1008 when configured to close', async () => {
    const ws = websocketComponent({ bytesPerSecond: 4096, maxMessageBytes: 1024, onRateLimit: 'close' });
    await startNode({ name: 'ws' }, echoApp(), [ws]);
    const [flooder, calm] = await Promise.all([TestClient.open(ws.url as string), TestClient.open(ws.url as string)]);
    for (let i = 0; i < 50; i++) flooder.send('echo', 'y'.repeat(900));
    const closed = await flooder.waitClosed();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/rate limit exceeded/);
    expect(flooder.messages.length).toBeLessThan(10);
    calm.send('echo', 'unaffected');
    expect((await calm.nth(0)).payload).toBe('unaffected');
    expect(ws.getStats().rate_limited_total).toBeGreaterThanOrEqual(1);
  });

  it('terminates a client that stops answering pings, and keeps one that answers', async () => {
    const disconnects: [string, DisconnectReason][] = [];
    const ws = websocketComponent({ pingIntervalMs: 100 });
    await startNode({ name: 'ws' }, echoApp({ onDisconnect: (c, r) => void disconnects.push([c.id, r]) }), [ws]);
    const alive = await TestClient.open(ws.url as string);
    await until(() => ws.clients().length === 1);
    const aliveId = ws.clients()[0] as string;
    const dead = await TestClient.open(ws.url as string, { autoPong: false });
    await until(() => disconnects.length === 1, 5000, 'dead client terminated');
    expect(disconnects[0]?.[0]).not.toBe(aliveId);
    expect(disconnects[0]?.[1]).toEqual({ code: 1006, reason: 'no pong within 100 ms', initiator: 'server' });
    expect((await dead.waitClosed()).code).toBe(1006);
    expect(ws.clients()).toEqual([aliveId]);
    alive.send('echo', 'alive');
    expect((await alive.nth(0)).payload).toBe('alive');
    expect(ws.getStats().dead_client_disconnects_total).toBe(1);
  });
});

describe('upgrade requests that do not become WebSockets', () => {
  async function upgradeTo(port: number, path: string): Promise<string> {
    const { connect } = await import('node:net');
    const socket = connect(port, '127.0.0.1');
    onTeardown(() => socket.destroy());
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket for ${path} still open after 5 s`)), 5000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return received.split('\r\n')[0] as string;
  }

  it('answers and closes an upgrade to another path, on its own server and on a shared one', async () => {
    const own = websocketComponent();
    const http = httpComponent();
    const shared = websocketComponent({ http, name: 'shared' });
    await startNode({ name: 'ws' }, {}, [own, http, shared]);
    const ownPort = Number(new URL(own.url as string).port);
    expect(await upgradeTo(ownPort, '/elsewhere')).toBe('HTTP/1.1 404 Not Found');
    expect(await upgradeTo(http.address?.port as number, '/elsewhere')).toBe('HTTP/1.1 404 Not Found');
  });
});
