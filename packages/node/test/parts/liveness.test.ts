import { FrameKind } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { Liveness } from '../../src/peers/liveness.js';
import { Peer } from '../../src/peers/peer.js';
import { FakeConnection, testContext } from './fakes.js';

const heartbeat = { intervalMs: 100, timeoutMs: 400 };

function setup(config = { heartbeat }) {
  const r = testContext(config);
  const connection = new FakeConnection();
  const peer = new Peer(connection, 'in', undefined, r.clock.now());
  peer.becomeReady('p', undefined, r.clock.now(), undefined);
  const peers = [peer];
  const liveness = new Liveness(r.ctx, { connections: () => peers });
  return { ...r, connection, peer, peers, liveness };
}

const probes = (c: FakeConnection) => c.sent.filter((f) => f.kind === FrameKind.Heartbeat);

describe('Liveness (heartbeats) on a fake clock', () => {
  it('probes an idle peer once per interval and destroys it once silent for timeoutMs', async () => {
    const { clock, connection, liveness, events, ctx } = setup();
    liveness.start();
    await clock.advance(99);
    expect(probes(connection)).toEqual([]);
    await clock.advance(1);
    expect(probes(connection)).toEqual([{ kind: FrameKind.Heartbeat, nonce: 1 }]);
    await clock.advance(299);
    expect(probes(connection).map((f) => (f as { nonce: number }).nonce)).toEqual([1, 2, 3]);
    expect(connection.destroyedWith).toBeNull();
    await clock.advance(1);
    expect(connection.destroyedWith).toMatchObject({ code: 'SYSTEMGE_ERR_HEARTBEAT_TIMEOUT' });
    expect(events.map((e) => e.event)).toEqual(['peer:dead']);
    expect(ctx.counters.heartbeatTimeouts).toBe(1);
    liveness.stop();
  });

  it('counts any received byte as life: a peer that keeps talking is never probed', async () => {
    const { clock, connection, liveness } = setup();
    liveness.start();
    for (let t = 0; t < 2000; t += 50) {
      connection.bytesIn += 10;
      await clock.advance(50);
    }
    expect(probes(connection)).toEqual([]);
    expect(connection.destroyedWith).toBeNull();
    liveness.stop();
  });

  it('never declares a peer dead while its reading is paused (backpressure)', async () => {
    const { clock, connection, liveness } = setup();
    liveness.start();
    connection.paused = true;
    await clock.advance(10 * heartbeat.timeoutMs);
    expect(connection.destroyedWith).toBeNull();
    // Resumed and silent again: the timeout counts from the last paused check.
    connection.paused = false;
    await clock.advance(heartbeat.timeoutMs - 50);
    expect(connection.destroyedWith).toBeNull();
    await clock.advance(100);
    expect(connection.destroyedWith).toMatchObject({ code: 'SYSTEMGE_ERR_HEARTBEAT_TIMEOUT' });
    liveness.stop();
  });

  it("skips one round after this node's own event loop stalled, so data read late still counts", async () => {
    const { clock, connection, liveness } = setup();
    liveness.start();
    await clock.advance(50);
    // Blocked for well over the timeout; the peer's data is waiting in the socket meanwhile.
    clock.jump(3 * heartbeat.timeoutMs);
    await clock.advance(0);
    expect(connection.destroyedWith).toBeNull();
    connection.bytesIn += 100;
    await clock.advance(50);
    expect(connection.destroyedWith).toBeNull();
    expect(probes(connection)).toEqual([]);
    liveness.stop();
  });

  it('checks ready peers only', async () => {
    const { clock, ctx, liveness, peers } = setup();
    const handshaking = new FakeConnection();
    peers.push(new Peer(handshaking, 'in', undefined, clock.now()));
    liveness.start();
    await clock.advance(2 * heartbeat.timeoutMs);
    expect(handshaking.sent).toEqual([]);
    expect(handshaking.destroyedWith).toBeNull();
    // The ready one in the same list was checked (and, silent, destroyed).
    expect(ctx.counters.heartbeatTimeouts).toBeGreaterThan(0);
  });

  it('answers a probe with an ack carrying its nonce, and not on a closed connection', () => {
    const { connection, peer, liveness } = setup();
    liveness.onHeartbeat(peer, { kind: FrameKind.Heartbeat, nonce: 7 });
    expect(connection.sent).toEqual([{ kind: FrameKind.HeartbeatAck, nonce: 7 }]);
    connection.closed = true;
    liveness.onHeartbeat(peer, { kind: FrameKind.Heartbeat, nonce: 8 });
    expect(connection.sent).toHaveLength(1);
  });

  it('runs no timer with intervalMs 0, and stop() clears its timer', async () => {
    const off = setup({ heartbeat: { intervalMs: 0, timeoutMs: 1 } });
    off.liveness.start();
    expect(off.clock.pending).toBe(0);
    const on = setup();
    on.liveness.start();
    expect(on.clock.pending).toBe(1);
    on.liveness.stop();
    expect(on.clock.pending).toBe(0);
  });
});
