import { describe, expect, it } from 'vitest';
import type { AccessControlConfig } from '../../src/index.js';
import { InboundGate } from '../../src/connect/inbound-gate.js';
import { Peer } from '../../src/peers/peer.js';
import { FakeConnection, testContext } from './fakes.js';

function setup(access: AccessControlConfig, connections = 0) {
  const r = testContext({ access });
  const count = { connections };
  const gate = new InboundGate(r.ctx, { connectionCount: () => count.connections });
  const remote = (address: string) => ({ address, port: 1234, family: 'IPv4' });
  const pending = (): { peer: Peer; connection: FakeConnection } => {
    const connection = new FakeConnection();
    const peer = new Peer(connection, 'in', undefined, r.clock.now());
    gate.addPending(peer);
    return { peer, connection };
  };
  return { ...r, gate, count, remote, pending };
}

describe('InboundGate', () => {
  it('refuses denied addresses, and with an allow list everything not on it', () => {
    const s = setup({ deny: ['10.0.0.0/8'], allow: ['10.0.0.0/8', '127.0.0.1'] });
    expect(s.gate.check(s.remote('10.1.2.3'))).toBe('address is denied');
    expect(s.gate.check(s.remote('127.0.0.2'))).toBe('address is not allowed');
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
    s.gate.allowList.set([]);
    expect(s.gate.check(s.remote('127.0.0.2'))).toBeUndefined();
  });

  it('limits attempts per IP over its window, on the injected clock', async () => {
    const s = setup({ maxAttemptsPerIp: 2, attemptWindowMs: 1000 });
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
    expect(s.gate.check(s.remote('127.0.0.1'))).toBe('too many connection attempts');
    expect(s.gate.check(s.remote('127.0.0.2'))).toBeUndefined();
    await s.clock.advance(2000);
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
  });

  it('evicts the oldest pending handshake when full instead of refusing the newcomer', async () => {
    const s = setup({ maxPendingHandshakes: 2 });
    const oldest = s.pending();
    const younger = s.pending();
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
    expect(oldest.connection.closedWith).toEqual({ reason: 'evicted: more than 2 pending handshakes', code: 'SYSTEMGE_ERR_HANDSHAKE' });
    expect(oldest.peer.closingLocally).toBe(true);
    expect(younger.connection.closedWith).toBeUndefined();
    expect(s.gate.pendingCount).toBe(1);
    expect(s.ctx.counters.handshakeFailures).toBe(1);
    // The goodbye is a courtesy: the socket is destroyed 200 ms later whether or not it was read.
    expect(oldest.connection.destroyedWith).toBeNull();
    await s.clock.advance(200);
    expect(oldest.connection.destroyedWith).toBeUndefined();
  });

  it('bounds the bytes pending handshakes may hold: the byte budget caps their number too', () => {
    // 64 KiB first frames, 192 KiB together: at most 3 pending, fewer than maxPendingHandshakes.
    const s = setup({ maxPendingHandshakes: 10, maxPendingHandshakeBytes: 3 * 64 * 1024 });
    const oldest = s.pending();
    s.pending();
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
    expect(oldest.connection.closedWith).toBeUndefined();
    s.pending();
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
    expect(oldest.connection.closedWith).toEqual({
      reason: 'evicted: pending handshakes would hold more than access.maxPendingHandshakeBytes 196608 (3 of 65536 bytes)',
      code: 'SYSTEMGE_ERR_HANDSHAKE',
    });
    expect(s.gate.pendingCount).toBe(2);
    expect(s.ctx.counters.handshakeFailures).toBe(1);
  });

  it('a settled handshake frees its slot', () => {
    const s = setup({ maxPendingHandshakes: 1 });
    const one = s.pending();
    s.gate.settle(one.peer);
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
    expect(one.connection.closedWith).toBeUndefined();
  });

  it('refuses past maxConnections, and counts and logs refusals', () => {
    const s = setup({ maxConnections: 3 }, 3);
    expect(s.gate.check(s.remote('127.0.0.1'))).toBe('too many connections');
    s.count.connections = 2;
    expect(s.gate.check(s.remote('127.0.0.1'))).toBeUndefined();
    s.gate.onRefused(s.remote('127.0.0.1'), 'too many connections');
    expect(s.ctx.counters.connectionsRefused).toBe(1);
    expect(s.logs).toContainEqual({ level: 'warn', msg: 'connection refused' });
  });
});
