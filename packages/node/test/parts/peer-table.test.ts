import { FrameKind } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import { Peer } from '../../src/peers/peer.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { FakeConnection } from './fakes.js';

function readyPeer(table: PeerTable, name: string, asyncTopics: string[] = [], syncTopics: string[] = []): Peer {
  const peer = new Peer(new FakeConnection(), 'out', undefined, 1);
  table.add(peer);
  peer.becomeReady(name, undefined, 2, undefined);
  table.register(peer, asyncTopics, syncTopics);
  return peer;
}

describe('Peer state transitions', () => {
  it('handshaking → ready → closed, each through its one method', () => {
    const connection = new FakeConnection();
    connection.bytesIn = 42;
    const peer = new Peer(connection, 'in', undefined, 1);
    expect(peer).toMatchObject({ state: 'handshaking', name: '', closed: false, closingLocally: false, connectedAt: 1 });
    peer.becomeReady('p', { listen: 'x' }, 5, undefined);
    expect(peer).toMatchObject({ state: 'ready', name: 'p', info: { listen: 'x' }, connectedAt: 5 });
    expect(peer.liveness).toMatchObject({ lastHeardAt: 5, lastBytesIn: 42 });
    expect(peer.markClosed()).toBe(true);
    expect(peer.closed).toBe(true);
    expect(peer.markClosed()).toBe(false);
  });

  it('close() marks the end as intended by this side', async () => {
    const connection = new FakeConnection();
    const peer = new Peer(connection, 'in', undefined, 1);
    await peer.close('bye', 'normal');
    expect(peer.closingLocally).toBe(true);
    expect(connection.closedWith).toEqual({ reason: 'bye', code: 'normal' });
  });

  it('counts reading pauses: reading resumes when the last holder releases it', () => {
    const connection = new FakeConnection();
    const peer = new Peer(connection, 'in', undefined, 1);
    peer.pauseReading();
    peer.pauseReading();
    peer.resumeReading();
    expect(connection.paused).toBe(true);
    peer.resumeReading();
    expect(connection.paused).toBe(false);
    peer.resumeReading();
    expect(connection.paused).toBe(false);
  });
});

describe('PeerTable', () => {
  it('routes by announced topics and follows TopicsAdded / TopicsRemoved', () => {
    const table = new PeerTable();
    const a = readyPeer(table, 'a', ['news'], ['ping']);
    const b = readyPeer(table, 'b', ['news']);
    expect(table.asyncRoutes.get('news')).toEqual([a, b]);
    expect(table.syncRoutes.get('ping')).toEqual([a]);
    table.applyTopics(b, { kind: FrameKind.TopicsAdded, asyncTopics: [], syncTopics: ['ping'] });
    expect(table.syncRoutes.get('ping')).toEqual([a, b]);
    const before = table.asyncRoutes.get('news');
    table.applyTopics(a, { kind: FrameKind.TopicsRemoved, asyncTopics: ['news'], syncTopics: [] });
    expect(table.asyncRoutes.get('news')).toEqual([b]);
    // Copy on write: an array being iterated by a send loop is not changed under it.
    expect(before).toEqual([a, b]);
    expect([...a.asyncTopics]).toEqual([]);
  });

  it('unregister removes a closed peer from names and routes, not a newer peer of the same name', () => {
    const table = new PeerTable();
    const old = readyPeer(table, 'x', ['t']);
    table.remove(old);
    table.unregister(old);
    expect(table.get('x')).toBeUndefined();
    expect(table.asyncRoutes.get('t')).toBeUndefined();
    const fresh = readyPeer(table, 'x', ['t']);
    table.unregister(old);
    expect(table.get('x')).toBe(fresh);
    expect(table.size).toBe(1);
  });

  it('namedTargets throws typed errors for an unknown peer and for a topic it does not handle', () => {
    const table = new PeerTable();
    const a = readyPeer(table, 'a', ['news']);
    expect(table.namedTargets('a', 'news', 'async')).toEqual([a]);
    expect(() => table.namedTargets(['a', 'ghost'], 'news', 'async')).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_PEER_NOT_CONNECTED' }),
    );
    expect(() => table.namedTargets('a', 'news', 'sync')).toThrow(expect.objectContaining({ code: 'SYSTEMGE_ERR_NO_ROUTE' }));
  });

  it('is writable only while every ready peer is', () => {
    const table = new PeerTable();
    const a = readyPeer(table, 'a');
    expect(table.writable).toBe(true);
    (a.connection as FakeConnection).writable = false;
    expect(table.writable).toBe(false);
  });
});
