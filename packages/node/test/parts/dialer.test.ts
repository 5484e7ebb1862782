import type { Connection, Transport } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import type { ConnectionConfig } from '../../src/config.js';
import { backoffDelay } from '../../src/connect/backoff.js';
import { Dialer, type EndpointState } from '../../src/connect/dialer.js';
import { HoldQueue } from '../../src/messaging/hold-queue.js';
import type { Peer } from '../../src/peers/peer.js';
import { FakeConnection, flush, testContext } from './fakes.js';

/** A transport whose dials fail while `refuse` is true, else hand out fake connections. */
function fakeTransport() {
  const t = {
    refuse: true,
    dials: 0,
    connections: [] as FakeConnection[],
    transport: {
      name: 'fake',
      listen: () => Promise.reject(new Error('not used')),
      dial: (): Promise<Connection> => {
        t.dials++;
        if (t.refuse) return Promise.reject(new Error('connection refused'));
        const c = new FakeConnection();
        t.connections.push(c);
        return Promise.resolve(c);
      },
    } satisfies Transport,
  };
  return t;
}

const policy: ConnectionConfig = { maxAttempts: 4, initialDelayMs: 100, backoffFactor: 2, jitter: 0, maxDelayMs: 250 };

function setup(connection: ConnectionConfig) {
  const t = fakeTransport();
  const r = testContext({ transport: t.transport, endpoints: [{ host: '127.0.0.1', port: 9 }], connection });
  const holds = new HoldQueue<EndpointState>(r.ctx);
  const attached: Peer[] = [];
  // The handshake succeeds at once: the peer becomes ready as "remote".
  const dialer = new Dialer(r.ctx, {
    attach: (peer) => attached.push(peer),
    handshake: (peer, settle) => {
      peer.becomeReady('remote', undefined, r.clock.now(), undefined);
      peer.asyncTopics.add('news');
      settle(undefined);
    },
    holds,
  });
  const names = () => r.events.map((e) => e.event);
  return { ...r, t, dialer, holds, attached, names };
}

describe('Dialer on a fake clock', () => {
  it('retries with exponential, capped backoff (100, 200, 250 ms) and gives up after maxAttempts', async () => {
    const s = setup({ ...policy, onFailure: 'stop' });
    const started = s.dialer.start();
    const outcome = started.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await flush();
    expect(s.t.dials).toBe(1);
    for (const delay of [100, 200, 250]) {
      expect(s.clock.delays()).toEqual([delay]);
      await s.clock.advance(delay - 1);
      expect(s.t.dials).toBeLessThan(5);
      const before = s.t.dials;
      await s.clock.advance(1);
      expect(s.t.dials).toBe(before + 1);
    }
    expect(await outcome).toMatchObject({ code: 'SYSTEMGE_ERR_CONNECT_ATTEMPTS', attempts: 4 });
    expect(s.t.dials).toBe(4);
    expect(s.names()).toEqual([
      ...['connect:attempt', 'connect:failed'],
      ...['connect:attempt', 'connect:failed'],
      ...['connect:attempt', 'connect:failed'],
      ...['connect:attempt', 'connect:failed'],
      'connect:gave-up',
    ]);
    expect(s.ctx.counters).toMatchObject({ connectionAttempts: 4, connectionFailures: 4 });
    expect(s.clock.pending).toBe(0);
  });

  it("onFailure 'continue': start resolves after giving up on the endpoint", async () => {
    const s = setup({ ...policy, maxAttempts: 2, onFailure: 'continue' });
    const started = s.dialer.start();
    await flush();
    await s.clock.advance(100);
    await expect(started).resolves.toBeUndefined();
    expect(s.names().filter((n) => n === 'connect:gave-up')).toHaveLength(1);
    expect(s.logs.some((l) => l.level === 'warn' && l.msg === 'giving up on endpoint, node keeps running')).toBe(true);
  });

  it('with maxAttempts 0 keeps trying until cancel(), which ends the wait at once', async () => {
    const s = setup({ ...policy, maxAttempts: 0 });
    const started = s.dialer.start();
    const outcome = started.catch((error: unknown) => error);
    await flush();
    await s.clock.advance(100 + 200 + 250 + 250 + 250);
    expect(s.t.dials).toBe(6);
    s.dialer.cancel();
    expect(await outcome).toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STOPPED' });
    expect(s.clock.pending).toBe(0);
  });

  it('redials a lost peer with backoff, then flushes what was held for it in order', async () => {
    const s = setup({ ...policy, maxAttempts: 0, whileReconnecting: 'queue' });
    s.t.refuse = false;
    await s.dialer.start();
    const first = s.attached[0] as Peer;
    expect(first.name).toBe('remote');
    s.t.refuse = true;
    s.dialer.onPeerLost(first, { code: 'SYSTEMGE_ERR_CONNECTION_CLOSED', reason: 'gone', initiator: 'remote', error: undefined });
    await flush();
    expect(s.holds.lookup('remote')).toBeDefined();
    const owner = s.holds.lookup('remote') as EndpointState;
    s.holds.hold([s.holds.check(owner, 'remote', 'news')], 'news', 'one');
    s.holds.hold([s.holds.check(owner, 'remote', 'news')], 'news', 'two');
    await s.clock.advance(100);
    s.t.refuse = false;
    await s.clock.advance(200);
    const second = s.attached[1] as Peer;
    expect(second).toBeDefined();
    s.dialer.onPeerReady(second);
    expect((s.t.connections[1] as FakeConnection).sent.map((f) => (f as { payload?: unknown }).payload)).toEqual(['one', 'two']);
    expect(s.holds.lookup('remote')).toBeUndefined();
    expect(s.names()).toContain('reconnected');
    expect(s.ctx.counters.reconnects).toBe(1);
  });

  it("onLoss 'stop': a lost peer stops the node instead of being redialed", async () => {
    const s = setup({ ...policy, onLoss: 'stop' });
    s.t.refuse = false;
    await s.dialer.start();
    s.dialer.onPeerLost(s.attached[0] as Peer, { code: 'x', reason: 'killed', initiator: 'remote', error: undefined });
    expect(s.stops).toEqual(['lost peer remote: killed']);
    expect(s.events.find((e) => e.event === 'warning')?.args[0]).toMatchObject({ code: 'SYSTEMGE_ERR_PEER_LOST' });
    expect(s.t.dials).toBe(1);
  });

  it("a redial that gives up discards what was held, and with onFailure 'stop' stops the node", async () => {
    const s = setup({ ...policy, maxAttempts: 2, onFailure: 'stop', whileReconnecting: 'queue' });
    s.t.refuse = false;
    await s.dialer.start();
    s.t.refuse = true;
    s.dialer.onPeerLost(s.attached[0] as Peer, { code: 'x', reason: 'gone', initiator: 'remote', error: undefined });
    const owner = s.holds.lookup('remote') as EndpointState;
    s.holds.hold([s.holds.check(owner, 'remote', 'news')], 'news', 'lost');
    await flush();
    await s.clock.advance(100);
    expect(s.ctx.counters.reconnectQueueDiscarded).toBe(1);
    expect(s.names()).toContain('connect:gave-up');
    expect(s.stops).toHaveLength(1);
    expect(s.stops[0]).toMatch(/^gave up reconnecting to 127\.0\.0\.1:9: /);
  });

  it('connect() refuses unless the node is starting or started', async () => {
    const s = setup(policy);
    s.setStatus('stopped');
    await expect(s.dialer.connect({ host: '127.0.0.1', port: 10 })).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STATUS' });
  });
});

describe('backoffDelay', () => {
  const config = { initialDelayMs: 100, backoffFactor: 2, maxDelayMs: 1000, jitter: 0.5 } as Required<ConnectionConfig>;

  it('spreads the capped exponential delay by ±jitter', () => {
    expect(backoffDelay(config, 1, () => 0)).toBe(50);
    expect(backoffDelay(config, 1, () => 1)).toBe(150);
    expect(backoffDelay(config, 3, () => 0.5)).toBe(400);
    expect(backoffDelay(config, 10, () => 0.5)).toBe(1000);
    expect(backoffDelay(config, 10, () => 1)).toBe(1500);
  });
});
