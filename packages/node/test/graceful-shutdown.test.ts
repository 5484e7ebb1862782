import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { forkNode } from './child-node.js';
import { endpointOf, nextEvent, startNode, until } from './helpers.js';

type Disconnected = [{ name: string }, { code: string; reason: string; initiator: string }];

/** Heartbeats far slower than the test, so only a goodbye can explain a prompt disconnect. */
const slowHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };

describe('graceful shutdown', () => {
  it('lets an in-flight handler finish, settles pending requests, says goodbye with the reason, stops accepting', async () => {
    let handlerStarted = false;
    let handlerFinished = false;
    const stopping = await startNode(
      { name: 'stopping', heartbeat: slowHeartbeat },
      {
        getSyncMessageHandlers: () => ({
          slow: async () => {
            handlerStarted = true;
            await new Promise((resolve) => setTimeout(resolve, 150));
            handlerFinished = true;
            return 'finished';
          },
        }),
      },
    );
    let releaseHang: () => void = () => {};
    const peer = await startNode(
      { name: 'peer', endpoints: [endpointOf(stopping)], heartbeat: slowHeartbeat, connection: { maxAttempts: 1 } },
      { getSyncMessageHandlers: () => ({ hang: () => new Promise<string>((resolve) => (releaseHang = () => resolve('late'))) }) },
    );
    try {
      await until(() => stopping.peers().length === 1, 2000, 'the peer to connect');
      const inflight = peer.syncRequest('slow', '', { timeoutMs: 10_000 }).first();
      // Caught at once: it rejects during stop(), before the assertion below looks at it.
      const pending = stopping
        .syncRequest('hang', '', { timeoutMs: 10_000 })
        .first()
        .catch((error: unknown) => error);
      const port = endpointOf(stopping).port;
      await until(() => handlerStarted, 2000, 'the handler to start');
      const goodbye = nextEvent<Disconnected>(peer, 'peer:disconnected', 2000);

      const t0 = performance.now();
      await stopping.stop('maintenance window');
      expect(handlerFinished).toBe(true);
      expect(stopping.status).toBe('stopped');

      expect(await inflight).toBe('finished');
      expect(await pending).toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STOPPED' });
      const [who, info] = await goodbye;
      expect(who.name).toBe('stopping');
      expect(info).toEqual({ code: 'normal', reason: 'maintenance window', initiator: 'remote' });
      expect(performance.now() - t0).toBeLessThan(1000);

      // The port no longer accepts.
      await expect(
        new Promise((resolve, reject) => connect(port, '127.0.0.1').once('connect', resolve).once('error', reject)),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      releaseHang();
    }
  });

  it('stops at shutdownTimeoutMs when a handler never finishes; the requester gets SYSTEMGE_ERR_PEER_LOST', async () => {
    const stopping = await startNode(
      { name: 'stopping', heartbeat: slowHeartbeat, shutdownTimeoutMs: 200 },
      { getSyncMessageHandlers: () => ({ forever: () => new Promise<string>(() => {}) }) },
    );
    const peer = await startNode({ name: 'peer', endpoints: [endpointOf(stopping)], connection: { maxAttempts: 1 } });
    const request = peer
      .syncRequest('forever', '', { timeoutMs: 10_000 })
      .first()
      .catch((error: unknown) => error);
    await until(() => stopping.stats.syncRequestsReceived === 1, 2000, 'the request to arrive');
    const t0 = performance.now();
    await stopping.stop();
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1500);
    expect(await request).toMatchObject({ code: 'SYSTEMGE_ERR_PEER_LOST' });
  });

  it('a node process that calls stop() exits by itself with code 0', async () => {
    const parent = await startNode(
      // Its own never-ending handler should not hold up the cleanup for long.
      { name: 'parent', heartbeat: slowHeartbeat, shutdownTimeoutMs: 100 },
      { getSyncMessageHandlers: () => ({ hang: () => new Promise<string>(() => {}) }) },
    );
    const child = await forkNode(
      {
        name: 'child',
        endpoints: [endpointOf(parent)],
        // Timers of every kind are running in the child: heartbeats, a pending request, the redial policy.
        heartbeat: { intervalMs: 100, timeoutMs: 400 },
        connection: { maxAttempts: 0 },
      },
      { app: 'worker', requestOnConnect: 'hang' },
    );
    await until(() => parent.peers().length === 1 && parent.stats.syncRequestsReceived === 1, 5000, 'the child to connect and ask');
    const goodbye = nextEvent<Disconnected>(parent, 'peer:disconnected', 5000);

    parent.asyncMessage('stop', 'rolling update', { to: 'child' });

    const [who, info] = await goodbye;
    expect(who.name).toBe('child');
    expect(info).toEqual({ code: 'normal', reason: 'rolling update', initiator: 'remote' });
    const exit = await Promise.race([
      child.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 3000).unref()),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(child.events.filter((e) => e.event === 'status').map((e) => e.status)).toEqual(['starting', 'started', 'stopping', 'stopped']);
    expect(child.events.find((e) => e.event === 'request-settled')).toMatchObject({ code: 'SYSTEMGE_ERR_NODE_STOPPED' });
  }, 10_000);
});
