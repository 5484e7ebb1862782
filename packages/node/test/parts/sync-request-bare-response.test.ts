import { describe, expect, it } from 'vitest';
import type { SyncResponse } from '../../src/node-types.js';
import { SyncRequests } from '../../src/messaging/sync-requests.js';
import { Counters } from '../../src/stats.js';
import { FakeClock } from './fakes.js';

/*
 * An ok response delivered by its payload (`deliverPayload`, the path every response off the wire
 * takes) is kept without a response object until one is asked for. Whatever is asked, in whatever
 * order, must see exactly what a request that got response objects sees.
 */

function broker() {
  const clock = new FakeClock();
  const requests = new SyncRequests(new Counters(), clock);
  /** A request to `targets`, sent (armed). */
  const sent = (targets: string[]) => {
    const request = requests.create('t', targets, 0, 1000);
    request.arm();
    return request;
  };
  return { clock, requests, sent };
}

const ok = (origin: string, payload: string): SyncResponse => ({ origin, ok: true, payload });

describe('sync request: an ok response kept as its bare payload', () => {
  it('first() gets the payload; responses made later show the same response, the same object on every read', async () => {
    const { requests, sent } = broker();
    const request = sent(['a']);
    const first = request.first();
    expect(requests.deliverPayload(request.token, 'a', 'pong')).toBe(true);
    await expect(first).resolves.toBe('pong');
    expect(request.outcome).toBe('complete');
    expect(request.responses).toEqual([ok('a', 'pong')]);
    expect(request.responses[0]).toBe(request.responses[0]);
    expect(await request.all()).toEqual([ok('a', 'pong')]);
  });

  it('first() called again after it resolved gets the same payload, kept bare or not', async () => {
    const { requests, sent } = broker();
    const bare = sent(['a']);
    const early = bare.first();
    expect(requests.deliverPayload(bare.token, 'a', 'x')).toBe(true);
    await expect(early).resolves.toBe('x');
    await expect(bare.first()).resolves.toBe('x');
    await expect(bare.first()).resolves.toBe('x');
    const made = sent(['a']);
    expect(requests.deliver(made.token, 'a', ok('a', 'y'))).toBe(true);
    await expect(made.first()).resolves.toBe('y');
    await expect(made.first()).resolves.toBe('y');
  });

  it('a second response after a bare first keeps arrival order, and first() still takes the first', async () => {
    const { requests, sent } = broker();
    const request = sent(['a', 'b', 'c']);
    expect(requests.deliverPayload(request.token, 'b', 'from b')).toBe(true);
    expect(requests.deliver(request.token, 'c', { origin: 'c', ok: false, error: 'no', code: 'SYSTEMGE_ERR_SYNC_FAILURE' })).toBe(true);
    expect(requests.deliverPayload(request.token, 'a', 'from a')).toBe(true);
    expect(request.outcome).toBe('complete');
    expect(request.responses).toEqual([
      ok('b', 'from b'),
      { origin: 'c', ok: false, error: 'no', code: 'SYSTEMGE_ERR_SYNC_FAILURE' },
      ok('a', 'from a'),
    ]);
    await expect(request.first()).resolves.toBe('from b');
  });

  it('responses read before anything arrived, then payloads: each becomes a response in the list', () => {
    const { requests, sent } = broker();
    const request = sent(['a', 'b']);
    const seen = request.responses;
    expect(seen).toEqual([]);
    expect(requests.deliverPayload(request.token, 'a', 'x')).toBe(true);
    expect(requests.deliverPayload(request.token, 'b', 'y')).toBe(true);
    expect(request.responses).toBe(seen);
    expect(seen).toEqual([ok('a', 'x'), ok('b', 'y')]);
  });

  it('the iterator yields the bare first response as its response object', async () => {
    const { requests, sent } = broker();
    const request = sent(['a', 'b']);
    const got: SyncResponse[] = [];
    const reading = (async () => {
      for await (const response of request) got.push(response);
    })();
    expect(requests.deliverPayload(request.token, 'a', 'x')).toBe(true);
    await Promise.resolve();
    expect(requests.deliverPayload(request.token, 'b', 'y')).toBe(true);
    await reading;
    expect(got).toEqual([ok('a', 'x'), ok('b', 'y')]);
    // The objects the iterator gave are the ones in `responses`: made once.
    expect(request.responses[0]).toBe(got[0]);
    expect(request.responses[1]).toBe(got[1]);
  });

  it('refuses a payload from a non-target, a second one from the same target, and one after the request settled', async () => {
    const { requests, sent } = broker();
    const request = sent(['a', 'b']);
    expect(requests.deliverPayload(request.token, 'z', 'stranger')).toBe(false);
    expect(requests.deliverPayload(request.token, 'a', 'x')).toBe(true);
    expect(requests.deliverPayload(request.token, 'a', 'again')).toBe(false);
    request.cancel();
    expect(requests.deliverPayload(request.token, 'b', 'late')).toBe(false);
    expect(request.responses).toEqual([ok('a', 'x')]);
    expect(request.missing).toEqual(['b']);
  });

  it('a structured payload that looks like a response is still just the payload', async () => {
    const { requests, sent } = broker();
    const request = sent(['a']);
    const lookalike = { origin: 'mallory', ok: false, error: 'fake', code: 'X' };
    const first = request.first();
    expect(requests.deliverPayload(request.token, 'a', lookalike)).toBe(true);
    await expect(first).resolves.toBe(lookalike);
    expect(request.responses).toEqual([{ origin: 'a', ok: true, payload: lookalike }]);
  });
});
