/**
 * The GC script runs end to end (two processes, real sockets) and reports every field for both
 * sides; a smoke test so the script cannot rot. It asserts no timing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('gc-per-request prints requests/s, latency and GC counts of both sides', async () => {
  const script = new URL('../src/gc-per-request.js', import.meta.url).pathname;
  const { stdout } = await run(process.execPath, [script, '0.5', '10', '100'], { timeout: 60_000 });
  const result = JSON.parse(stdout.trim().split('\n').at(-1));
  assert.equal(result.concurrency, 10);
  assert.equal(result.payloadBytes, 100);
  assert.ok(result.requestsPerSecond > 0, 'some requests completed');
  for (const q of ['p50', 'p99', 'p999']) assert.ok(Number.isFinite(result.latencyUs[q]) && result.latencyUs[q] > 0, q);
  const { withoutGc } = result.latencyUs;
  assert.ok(
    withoutGc.requests > 0 && withoutGc.p99 >= withoutGc.p50 && withoutGc.p50 > 0,
    'percentiles of the requests no GC pause touched',
  );
  for (const side of ['requester', 'responder']) {
    assert.ok(result.gcHit[side] >= 0 && result.gcHit[side] <= 1, `gcHit.${side}`);
    for (const key of ['scavengesPer100k', 'meanScavengeMs', 'markCompactsPer100k', 'gcShare']) {
      assert.ok(Number.isFinite(result[side][key]) && result[side][key] >= 0, `${side}.${key}`);
    }
  }
});
