import { describe, expect, it } from 'vitest';
import { SyncRequests } from '../../src/messaging/sync-requests.js';
import { Counters } from '../../src/stats.js';
import { FakeClock } from './fakes.js';

const ok = (origin: string, payload = 'pong') => ({ origin, ok: true as const, payload });

function broker() {
  const clock = new FakeClock();
  return { clock, requests: new SyncRequests(new Counters(), clock) };
}

describe('SyncRequests: pending requests in reused slots, matched on the whole token', () => {
  it('reuses the slot of a settled request, so the table grows only with concurrency', () => {
    const { requests } = broker();
    for (let i = 0; i < 10_000; i++) {
      const a = requests.create('t', ['p'], 1, 1000);
      const b = requests.create('t', ['p'], 1, 1000);
      a.arm();
      b.arm();
      expect(requests.deliver(a.token, 'p', ok('p'))).toBe(true);
      expect(requests.deliver(b.token, 'p', ok('p'))).toBe(true);
    }
    expect(requests.size).toBe(0);
    expect(requests.capacity).toBe(2);
  });

  it('times every request for the latency histogram, however many are pending at once (the start-time table grows)', () => {
    const clock = new FakeClock();
    const counters = new Counters();
    const requests = new SyncRequests(counters, clock);
    const before = performance.now();
    const pending = Array.from({ length: 300 }, () => requests.create('t', ['p'], 1, 1000));
    for (const request of pending) request.arm();
    expect(requests.capacity).toBe(300);
    for (const request of pending) expect(requests.deliver(request.token, 'p', ok('p'))).toBe(true);
    const elapsed = performance.now() - before;
    expect(counters.syncLatencyCount).toBe(300);
    // Each latency is from its own request's start: none negative, none longer than the whole test.
    expect(counters.syncLatencySumMs).toBeGreaterThanOrEqual(0);
    expect(counters.syncLatencySumMs).toBeLessThanOrEqual(300 * elapsed);
    expect(counters.syncLatencyBuckets.reduce((a, b) => a + b, 0)).toBe(300);
  });

  it('refuses a late answer whose slot now holds a newer request', () => {
    const { requests } = broker();
    const old = requests.create('t', ['p'], 1, 1000);
    old.arm();
    old.cancel();
    const newer = requests.create('t', ['p'], 1, 1000);
    newer.arm();
    // Same slot, different token: the late answer to the cancelled request must not settle the new one.
    expect(newer.token.slice(newer.token.lastIndexOf('.'))).toBe(old.token.slice(old.token.lastIndexOf('.')));
    expect(requests.deliver(old.token, 'p', ok('p', 'late'))).toBe(false);
    expect(newer.outcome).toBeUndefined();
    expect(requests.deliver(newer.token, 'p', ok('p'))).toBe(true);
    expect(newer.outcome).toBe('complete');
  });

  it('refuses foreign, malformed and out-of-range tokens without throwing', () => {
    const { requests } = broker();
    const other = broker().requests.create('t', ['p'], 1, 1000);
    const mine = requests.create('t', ['p'], 1, 1000);
    mine.arm();
    const dot = mine.token.lastIndexOf('.');
    const forged = [
      other.token, // another node's prefix, same slot number
      '',
      '.',
      mine.token.slice(0, dot), // no slot
      `${mine.token.slice(0, dot)}.`, // empty slot
      `${mine.token.slice(0, dot)}.zz`, // slot beyond the table
      `${mine.token.slice(0, dot)}.-0`,
      `${mine.token.slice(0, dot)}.A`, // not base 36 lower case
      `${mine.token.slice(0, dot)}.${'9'.repeat(400)}`,
      `${mine.token[0] === 'x' ? 'y' : 'x'}${mine.token.slice(1)}`, // one character of the prefix changed
      `${mine.token}0`,
      mine.token.slice(dot), // slot only
    ];
    for (const token of forged) expect(requests.deliver(token, 'p', ok('p')), token).toBe(false);
    expect(mine.outcome).toBeUndefined();
    expect(requests.deliver(mine.token, 'p', ok('p'))).toBe(true);
  });

  it('reaches every pending request on peer loss and on shutdown, across freed slots', async () => {
    const { requests } = broker();
    const all = Array.from({ length: 6 }, () => requests.create('t', ['p', 'q'], 0, 1000));
    for (const r of all) r.arm();
    // Free two slots in the middle.
    (all[1] as (typeof all)[number]).cancel();
    (all[3] as (typeof all)[number]).cancel();
    requests.peerLost('p', 'connection lost');
    const survivors = all.filter((_, i) => i !== 1 && i !== 3);
    for (const r of survivors) expect(r.responses.map((x) => x.origin)).toEqual(['p']);
    requests.failAll(new Error('node stopping'));
    for (const r of survivors) expect(r.outcome).toBe('failed');
    expect(requests.size).toBe(0);
    await expect((survivors[0] as (typeof all)[number]).all()).rejects.toThrow('node stopping');
  });

  it('frees the slot of a request that timed out', async () => {
    const { clock, requests } = broker();
    const r = requests.create('t', ['p'], 1, 100);
    r.arm();
    await clock.advance(200);
    expect(r.outcome).toBe('timeout');
    expect(requests.size).toBe(0);
    expect(requests.deliver(r.token, 'p', ok('p'))).toBe(false);
    const next = requests.create('t', ['p'], 1, 100);
    expect(requests.capacity).toBe(1);
    expect(next.token).not.toBe(r.token);
  });

  it('first() keeps its promise functions without closures, and every waiter still hears once', async () => {
    const { clock, requests } = broker();
    const r = requests.create('t', ['p'], 1, 1000);
    r.arm();
    const a = r.first();
    const b = r.first();
    const heard: string[] = [];
    r.onFirst((error, payload) => heard.push(error === undefined ? String(payload) : error.message));
    expect(requests.deliver(r.token, 'p', ok('p', 'answer'))).toBe(true);
    await expect(a).resolves.toBe('answer');
    await expect(b).resolves.toBe('answer');
    expect(heard).toEqual(['answer']);
    // Asked after the answer: resolved on a later tick, with the same payload.
    await expect(r.first()).resolves.toBe('answer');
    const late = requests.create('t', ['p'], 1, 100);
    late.arm();
    const rejected = late.first().then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await clock.advance(200);
    expect(await rejected).toBe('SYSTEMGE_ERR_SYNC_TIMEOUT');
    await expect(late.first()).rejects.toMatchObject({ code: 'SYSTEMGE_ERR_SYNC_TIMEOUT' });
  });
});
