import { describe, expect, it } from 'vitest';
import { NoRouteError } from '../../src/errors.js';
import { MATCHED_TOKEN, SyncRequests } from '../../src/messaging/sync-requests.js';
import { testContext } from './fakes.js';

/*
 * Pending requests are found by the slot named at the end of their token, then matched on the whole token. A response's token is matched either
 * as a string (deliver) or from its bytes (knownToken, so no string is decoded for it): both must
 * accept exactly the token of a pending request and nothing else, whatever the counter's digits.
 */

function setup() {
  const r = testContext();
  const requests = new SyncRequests(r.ctx.counters, r.clock);
  return { ...r, requests };
}

/** `token`'s bytes inside a larger buffer, as a frame holds them: [start, end). */
function framed(token: string): [Buffer, number, number] {
  const bytes = Buffer.from(token, 'utf8');
  return [Buffer.concat([Buffer.from([0xff, 0x00, 0x41]), bytes, Buffer.from([0x7a])]), 3, 3 + bytes.length];
}

const ok = (origin: string) => ({ origin, ok: true as const, payload: 'pong' });

describe('sync request tokens', () => {
  it('knownToken returns the pending request token itself for exactly its bytes, and nothing once it settled', () => {
    const s = setup();
    const requests = Array.from({ length: 40 }, () => s.requests.create('ping', ['a'], 0, 1000));
    for (const request of requests) {
      const found = s.requests.knownToken(...framed(request.token));
      expect(found).toBe(request.token);
    }
    const [first] = requests;
    first?.cancel();
    expect(s.requests.knownToken(...framed(first?.token as string))).toBeUndefined();
  });

  it('a token written from its parts is exactly its string, for counters and slots of any digit count', () => {
    const s = setup();
    // Counters across base-36 digit boundaries (35 → 36, 1295 → 1296, …), slots up to two digits.
    const open: ReturnType<typeof s.requests.create>[] = [];
    for (let n = 1; n <= 1400; n++) {
      const request = s.requests.create('ping', ['a'], 0, 1000);
      open.push(request);
      if (open.length > 50) (open.shift() as typeof request).cancel();
      const buf = Buffer.alloc(request.tokenByteLength + 4, 0xee);
      request.writeToken(buf, 2);
      const written = buf.toString('latin1', 2, 2 + request.tokenByteLength);
      expect(buf[1]).toBe(0xee);
      expect(buf[2 + request.tokenByteLength]).toBe(0xee);
      expect(written).toBe(request.token);
      expect(written).toMatch(/^[A-Za-z0-9_-]{22}[0-9a-z]+\.[0-9a-z]+$/);
    }
  });

  it('knownToken makes no token string when nobody read it yet: it stands for the matched request, and deliver then accepts it', () => {
    const s = setup();
    for (let i = 0; i < 40; i++) {
      const request = s.requests.create('ping', ['a'], 0, 1000);
      const buf = Buffer.alloc(request.tokenByteLength + 6);
      request.writeToken(buf, 3);
      const found = s.requests.knownToken(buf, 3, 3 + request.tokenByteLength);
      expect(found).toBe(MATCHED_TOKEN);
      expect(request.tokenText).toBeUndefined();
      expect(s.requests.deliver(found as string, 'a', ok('a'))).toBe(true);
      expect(request.outcome).toBe('complete');
      expect(request.responses).toEqual([ok('a')]);
    }
    // From a plain Uint8Array (not a Buffer) too; once the token was read, its string is returned.
    const request = s.requests.create('ping', ['a'], 0, 1000);
    const bytes = new Uint8Array(request.tokenByteLength);
    request.writeToken(bytes, 0);
    expect(Buffer.isBuffer(bytes)).toBe(false);
    expect(s.requests.knownToken(bytes, 0, bytes.length)).toBe(MATCHED_TOKEN);
    const token = request.token;
    expect(s.requests.knownToken(bytes, 0, bytes.length)).toBe(token);
    expect(s.requests.deliver(token, 'a', ok('a'))).toBe(true);
  });

  it('the matched-token marker reaches only the request matched just before, and nothing after another token was looked at', () => {
    const s = setup();
    const a = s.requests.create('ping', ['a'], 0, 1000);
    const b = s.requests.create('ping', ['a'], 0, 1000);
    const bytesOf = (request: typeof a): Buffer => {
      const buf = Buffer.alloc(request.tokenByteLength);
      request.writeToken(buf, 0);
      return buf;
    };
    // Nothing matched: the marker, received as a token, names no request.
    expect(s.requests.deliver(MATCHED_TOKEN, 'a', ok('a'))).toBe(false);
    // a matched, never delivered (say its frame was refused after its token was read); then a token
    // that is nobody's: the marker no longer means a.
    expect(s.requests.knownToken(bytesOf(a), 0, a.tokenByteLength)).toBe(MATCHED_TOKEN);
    expect(s.requests.knownToken(...framed(`${'x'.repeat(22)}1.0`))).toBeUndefined();
    expect(s.requests.deliver(MATCHED_TOKEN, 'a', ok('a'))).toBe(false);
    // b matched: the marker means b once, and a delivery consumes it.
    expect(s.requests.knownToken(bytesOf(b), 0, b.tokenByteLength)).toBe(MATCHED_TOKEN);
    expect(s.requests.deliver(MATCHED_TOKEN, 'a', ok('a'))).toBe(true);
    expect(s.requests.deliver(MATCHED_TOKEN, 'a', ok('a'))).toBe(false);
    expect([a.outcome, b.outcome]).toEqual([undefined, 'complete']);
    // a matched, then settled before its response is delivered: the marker finds nothing.
    expect(s.requests.knownToken(bytesOf(a), 0, a.tokenByteLength)).toBe(MATCHED_TOKEN);
    a.cancel();
    expect(s.requests.deliver(MATCHED_TOKEN, 'a', ok('a'))).toBe(false);
    // The marker cannot arrive as bytes: no UTF-8 decodes to a lone surrogate.
    expect(Buffer.from(MATCHED_TOKEN, 'utf8').toString('utf8')).not.toBe(MATCHED_TOKEN);
  });

  it('a request knownToken matched is no shortcut for another token: each delivery reaches the request its token names', () => {
    const s = setup();
    const a = s.requests.create('ping', ['a'], 0, 1000);
    const b = s.requests.create('ping', ['a'], 0, 1000);
    // Matched from bytes, then never delivered (say the frame was refused after its token was read).
    expect(s.requests.knownToken(...framed(a.token))).toBe(a.token);
    expect(s.requests.deliver(b.token, 'a', ok('a'))).toBe(true);
    expect([a.outcome, b.outcome]).toEqual([undefined, 'complete']);
    // A token that names no pending request finds none, whatever was matched before.
    expect(s.requests.knownToken(...framed(a.token))).toBe(a.token);
    a.cancel();
    expect(s.requests.deliver(a.token, 'a', ok('a'))).toBe(false);
    const c = s.requests.create('ping', ['a'], 0, 1000); // takes a's slot
    expect(s.requests.deliver(a.token, 'a', ok('a'))).toBe(false);
    expect(c.outcome).toBeUndefined();
  });

  it('knownToken and deliver refuse near misses: another prefix or counter, a leading zero, upper case, an extra digit, another slot, a bare prefix', () => {
    const s = setup();
    // 40 pending requests: slots 0–39, so the last one's slot has two digits.
    const all = Array.from({ length: 40 }, () => s.requests.create('ping', ['a'], 0, 1000));
    const request = all.at(-1) as (typeof all)[number];
    const token = request.token;
    const dot = token.lastIndexOf('.');
    const prefix = token.slice(0, 22);
    const counter = token.slice(22, dot);
    const slot = token.slice(dot + 1);
    expect(slot.length).toBe(2);
    const otherPrefix = `${prefix[0] === 'A' ? 'B' : 'A'}${prefix.slice(1)}`;
    const misses = [
      otherPrefix + token.slice(22),
      `${prefix}0${counter}.${slot}`,
      `${prefix}${counter}.0${slot}`,
      `${prefix}${counter.toUpperCase()}.${slot.toUpperCase()}`,
      `${prefix}${counter}.${slot}0`,
      `${prefix}${counter}.${slot.slice(0, -1)}`, // another pending request's slot, with this counter
      `${prefix}${counter}1.${slot}`,
      `${prefix}${counter}.`,
      `${prefix}.${slot}`,
      prefix,
      `${token}${'1'.repeat(12)}`,
      '',
    ].filter((t) => t !== token);
    expect(misses.length).toBeGreaterThanOrEqual(10);
    for (const miss of misses) {
      if (miss.length > 0) expect(s.requests.knownToken(...framed(miss)), miss).toBeUndefined();
      expect(s.requests.deliver(miss, 'a', ok('a')), miss).toBe(false);
    }
    for (const r of all) expect(r.responses).toEqual([]);
    expect(s.requests.deliver(token, 'a', ok('a'))).toBe(true);
    expect(request.outcome).toBe('complete');
  });

  it('a request that failed before it was sent has no token, and takes no slot', () => {
    const s = setup();
    const failed = s.requests.failed('ping', new NoRouteError('ping'));
    expect(failed.outcome).toBe('failed');
    expect(failed.token).toBe('');
    expect(s.requests.capacity).toBe(0);
    const next = s.requests.create('ping', ['a'], 0, 1000);
    expect(next.token).toMatch(/\.0$/);
  });

  it('a token of another broker (another node) is never known here', () => {
    const s = setup();
    const here = s.requests.create('ping', ['a'], 0, 1000);
    const elsewhere = new SyncRequests(s.ctx.counters, s.clock).create('ping', ['a'], 0, 1000);
    // Same counter and slot, different secret prefix.
    expect(elsewhere.token.slice(22)).toBe(here.token.slice(22));
    expect(s.requests.knownToken(...framed(elsewhere.token))).toBeUndefined();
    expect(s.requests.deliver(elsewhere.token, 'a', ok('a'))).toBe(false);
    expect(s.requests.knownToken(...framed(here.token))).toBe(here.token);
  });
});
