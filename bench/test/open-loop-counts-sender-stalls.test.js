/**
 * The open-loop generator measures from each request's due time: a stall of the sender shows in
 * the latency of every request that fell due during it (no coordinated omission), and requests a
 * system never answers are counted, with the time they waited, instead of dropped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openLoop } from '../src/latency/open-loop.js';

const MS = 1e6;

function blockFor(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

test('a 200 ms stall of the sender counts in the latency of the requests due during it', async () => {
  let calls = 0;
  const result = await openLoop({
    // Answered on the next turn of the event loop; the 300th call blocks the loop for 200 ms,
    // as a long garbage collection or a busy handler would.
    request: () => {
      calls++;
      if (calls === 300) blockFor(200);
      return new Promise((resolve) => setImmediate(resolve));
    },
    rate: 1000,
    warmupSeconds: 0.05,
    seconds: 1,
    drainSeconds: 5,
    maxInFlight: 10_000,
  });
  assert.equal(result.requests, 1000);
  assert.equal(result.completed, 1000);
  assert.equal(result.incomplete, 0);
  // About 200 of the 1000 measured requests fell due while the loop was blocked; they wait up to
  // 200 ms. Measured from when each was sent, only the blocked request itself would be slow and
  // p99 would stay near zero.
  assert.ok(result.ns.max >= 190 * MS, `max ${result.ns.max / MS} ms`);
  assert.ok(result.ns.p99 >= 150 * MS, `p99 ${result.ns.p99 / MS} ms`);
  assert.ok(result.ns.p90 >= 50 * MS, `p90 ${result.ns.p90 / MS} ms`);
  assert.ok(result.maxSendLagNs >= 190 * MS, `send lag ${result.maxSendLagNs / MS} ms`);
});

test('requests never answered are recorded with the time they waited, including those never sent', async () => {
  const result = await openLoop({
    request: () => new Promise(() => {}),
    rate: 100,
    warmupSeconds: 0,
    seconds: 0.2,
    drainSeconds: 0.1,
    maxInFlight: 5,
  });
  assert.equal(result.requests, 20);
  assert.equal(result.completed, 0);
  assert.equal(result.incomplete, 20);
  assert.equal(result.unsent, 15);
  // The last request fell due at the end of the window and waited the 100 ms drain; the first
  // waited the whole 300 ms.
  assert.ok(result.ns.min >= 95 * MS, `min ${result.ns.min / MS} ms`);
  assert.ok(result.ns.max >= 290 * MS, `max ${result.ns.max / MS} ms`);
});

test('check sees the value of every answered request before it is recorded', async () => {
  let sent = 0;
  const seen = [];
  const result = await openLoop({
    request: () => {
      const n = sent++;
      return new Promise((resolve) => setImmediate(resolve, `answer ${n}`));
    },
    check: (response) => seen.push(response),
    rate: 500,
    warmupSeconds: 0,
    seconds: 0.1,
    drainSeconds: 1,
    maxInFlight: 100,
  });
  assert.equal(result.completed, 50);
  assert.equal(seen.length, 50);
  assert.deepEqual(new Set(seen), new Set(Array.from({ length: 50 }, (_, i) => `answer ${i}`)));
});
