import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, resolveLimits, type MessageFrame } from '../src/index.js';
import { collectFrames, expectProtocolError } from './collect-frames.js';

/* What a peer can send as a msgpack payload: no prototype pollution, no unbounded work, one message rejected at most. */

const limits = resolveLimits({});

/** An async message frame with encoding byte `encoding` and the given payload bytes. */
function rawMessage(payload: Buffer, encoding = 2, topic = 't'): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([FrameKind.AsyncMessage, encoding]), u16(t.length), t, u16(0), payload]);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length);
  return Buffer.concat([prefix, body]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
/** msgpack fixstr. */
function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([0xa0 | b.length]), b]);
}

describe('structured payloads from a hostile peer', () => {
  it('a __proto__ key neither pollutes Object.prototype nor changes the prototype of the decoded object', () => {
    // { "__proto__": { "polluted": true }, "constructor": { "prototype": { "polluted": true } } }
    const inner = Buffer.concat([Buffer.from([0x81]), str('polluted'), Buffer.from([0xc3])]);
    const payload = Buffer.concat([
      Buffer.from([0x82]),
      str('__proto__'),
      inner,
      str('constructor'),
      Buffer.from([0x81]),
      str('prototype'),
      inner,
    ]);
    const c = collectFrames(limits);
    c.decoder.push(rawMessage(payload));
    expect(c.errors).toEqual([]);
    const value = (c.frames[0] as MessageFrame).payload as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect((value as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.hasOwn(value, '__proto__')).toBe(false);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('an array or map declaring 2^32-1 entries in 5 bytes is rejected at once, and the stream goes on', () => {
    const c = collectFrames(limits);
    c.decoder.push(rawMessage(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])));
    c.decoder.push(rawMessage(Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff])));
    c.decoder.push(rawMessage(Buffer.from([0x93, 1, 2, 3])));
    expect(c.errors).toHaveLength(2);
    for (const error of c.errors) expectProtocolError(error, 'SYSTEMGE_ERR_INVALID_FRAME', false);
    expect((c.errors[0] as Error).message).toMatch(/undecodable msgpack payload/);
    expect(c.errors[0]?.topic).toBe('t');
    expect(c.frames.map((f) => (f as MessageFrame).payload)).toEqual([[1, 2, 3]]);
  });

  it('nesting too deep to decode rejects that message only', () => {
    const c = collectFrames(limits);
    c.decoder.push(rawMessage(Buffer.alloc(1_000_000, 0x91)));
    c.decoder.push(rawMessage(Buffer.from([0xc3])));
    expect(c.errors).toHaveLength(1);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_FRAME', false);
    expect(c.frames.map((f) => (f as MessageFrame).payload)).toEqual([true]);
  });

  it('trailing bytes after the msgpack value reject the message', () => {
    const c = collectFrames(limits);
    c.decoder.push(rawMessage(Buffer.from([0xc3, 0xc3])));
    expect(c.frames).toEqual([]);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_FRAME', false);
  });

  it('msgpackr reference extensions (structured clone) are refused', () => {
    // fixext4 0x70 "pointer" to id 1, which a structured-clone decoder would look up in its reference table.
    const c = collectFrames(limits);
    c.decoder.push(rawMessage(Buffer.from([0xd6, 0x70, 0, 0, 0, 1])));
    expect(c.frames).toEqual([]);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_FRAME', false);
  });

  it('an unknown payload encoding rejects that message only', () => {
    const c = collectFrames(limits);
    c.decoder.push(rawMessage(Buffer.from('x'), 3));
    c.decoder.push(encodeFrame({ kind: FrameKind.AsyncMessage, topic: 't', payload: { ok: 1 }, syncToken: undefined }, limits));
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_FRAME', false);
    expect((c.errors[0] as Error).message).toMatch(/unknown payload encoding 0x3/);
    expect(c.frames.map((f) => (f as MessageFrame).payload)).toEqual([{ ok: 1 }]);
  });
});
