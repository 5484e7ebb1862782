import { decode as independentDecode, ExtData } from '@msgpack/msgpack';
import fc from 'fast-check';
import { Packr, unpack as msgpackrUnpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, MAP_EXTENSION_TYPE, type MessageFrame, packPayload, resolveLimits, unpackPayload } from '../src/index.js';
import { collectFrames, expectProtocolError } from './collect-frames.js';

/*
 * A `Map` payload (and every `Map` nested in one) arrives as a `Map`, keys of any type included;
 * plain objects still travel as plain msgpack maps, byte for byte as before, so any msgpack
 * implementation reads them.
 */

const limits = resolveLimits({ maxFrameBytes: 1 << 20, maxPayloadBytes: 1 << 20 });

// `__proto__` is renamed on receive (see structured-payload-hostile.test.ts), so generated keys avoid it.
const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
const leaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true }).filter((n) => !Object.is(n, -0)),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
);

function values(withMaps: boolean): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => {
    const containers: fc.Arbitrary<unknown>[] = [
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }).map((o) => ({ ...o })),
      fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 4 }).map((items) => new Set(items)),
    ];
    if (withMaps) {
      // Keys of any type: strings, numbers, objects, arrays, other Maps.
      containers.push(fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)));
    }
    return { value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, ...containers) };
  }).value;
}

/** Deep equality that also requires the same kind of container at every level (a Map is not an object). */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return typeof a === 'bigint' || typeof b === 'bigint' ? a === b : Object.is(a, b);
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) {
    // Buffers and Uint8Arrays are both byte arrays on the wire.
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return false;
  }
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof Uint8Array) return Buffer.compare(a, b as Uint8Array) === 0;
  if (a instanceof Map) {
    const bm = b as Map<unknown, unknown>;
    if (a.size !== bm.size) return false;
    // Keys that are objects arrive as new objects: compare entries in order.
    const ea = [...a];
    const eb = [...bm];
    return ea.every(([k, v], i) => sameValue(k, eb[i]?.[0]) && sameValue(v, eb[i]?.[1]));
  }
  if (a instanceof Set) return sameValue([...a], [...(b as Set<unknown>)]);
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => sameValue(v, (b as unknown[])[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

function holdsMap(v: unknown): boolean {
  if (v instanceof Map) return true;
  if (v instanceof Set || Array.isArray(v)) return [...v].some(holdsMap);
  if (typeof v === 'object' && v !== null && !(v instanceof Date) && !(v instanceof Uint8Array)) return Object.values(v).some(holdsMap);
  return false;
}

/** msgpackr as configured before Maps had an extension: what plain objects were written as. */
const previous = new Packr({ useRecords: false, moreTypes: true, structuredClone: false, bundleStrings: false });

describe('Map payloads', () => {
  it('arrive as Maps at every depth, through a frame, with every other value unchanged', { timeout: 60_000 }, () => {
    let withMaps = 0;
    fc.assert(
      fc.property(values(true), fc.string({ minLength: 1, maxLength: 8 }), (value, topic) => {
        if (holdsMap(value)) withMaps++;
        const frame: MessageFrame = { kind: FrameKind.AsyncMessage, topic, payload: value, syncToken: undefined };
        const c = collectFrames(limits);
        c.decoder.push(encodeFrame(frame, limits));
        expect(c.errors).toEqual([]);
        const received = (c.frames[0] as MessageFrame).payload;
        expect(sameValue(received, value)).toBe(true);
      }),
      { numRuns: 3_000 },
    );
    // The generated values do exercise Maps.
    expect(withMaps).toBeGreaterThan(300);
  });

  it('values without a Map are written byte for byte as before', () => {
    fc.assert(
      fc.property(values(false), (value) => {
        const now = Buffer.from(packPayload('t', value));
        expect(now).toEqual(Buffer.from(previous.pack(value)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('a value without a Map is sent as it is (not copied)', () => {
    const bytes = Buffer.from([1, 2, 3]);
    const value = { nested: [{ bytes }], when: new Date(0) };
    expect(unpackPayload(packPayload('t', value))).toEqual(value);
  });

  it('another msgpack implementation reads plain objects, and skips a Map as a well-delimited extension', () => {
    const plain = { item: 'book', count: 3, tags: ['a', 'b'], nested: { ok: true, none: null } };
    expect(independentDecode(packPayload('t', plain))).toEqual(plain);
    const withMap = {
      before: 1,
      index: new Map<unknown, unknown>([
        [1, 'one'],
        [{ k: 2 }, new Map([['x', 'y']])],
      ]),
      after: 'z',
    };
    const decoded = independentDecode(packPayload('t', withMap)) as { before: number; index: ExtData; after: string };
    expect(decoded.before).toBe(1);
    expect(decoded.after).toBe('z');
    expect(decoded.index).toBeInstanceOf(ExtData);
    expect(decoded.index.type).toBe(MAP_EXTENSION_TYPE);
    // The extension's data is one msgpack array of the entries, key then value.
    const entries = independentDecode(decoded.index.data as Uint8Array) as unknown[];
    expect(entries.slice(0, 3)).toEqual([1, 'one', { k: 2 }]);
    expect(entries[3]).toBeInstanceOf(ExtData);
  });

  it('a Map with __proto__, constructor and object keys arrives with those keys, and pollutes nothing', () => {
    const keyObject = { id: 7 };
    const map = new Map<unknown, unknown>([
      ['__proto__', { polluted: true }],
      ['constructor', 1],
      [keyObject, 'by object'],
      [[1, 2], 'by array'],
    ]);
    const back = unpackPayload(packPayload('t', map)) as Map<unknown, unknown>;
    expect(back).toBeInstanceOf(Map);
    expect(back.get('__proto__')).toEqual({ polluted: true });
    expect(back.get('constructor')).toBe(1);
    expect(sameValue(back, map)).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a circular Map is refused at the sender with SYSTEMGE_ERR_PAYLOAD_UNENCODABLE naming the topic', () => {
    const map = new Map<string, unknown>();
    map.set('self', map);
    expect(() => packPayload('loop', { map })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_PAYLOAD_UNENCODABLE', topic: 'loop' }),
    );
  });

  it('Map extension data that is not key/value pairs rejects that message only (not fatal)', () => {
    const ext = (data: Buffer) => Buffer.concat([Buffer.from([0xc7, data.length, MAP_EXTENSION_TYPE]), data]);
    for (const data of [Buffer.from([0x93, 1, 2, 3]), Buffer.from([0xa1, 0x78]), Buffer.from([0x91])]) {
      const c = collectFrames(limits);
      const frame = encodeFrame({ kind: FrameKind.AsyncMessage, topic: 't', payload: 'placeholder', syncToken: undefined }, limits);
      // Same frame with the payload swapped for the raw extension and the encoding byte set to msgpack.
      const header = frame.subarray(0, frame.length - 'placeholder'.length);
      const body = Buffer.concat([header, ext(data)]);
      body.writeUInt32BE(body.length - 4, 0);
      body[5] = 2;
      c.decoder.push(body);
      c.decoder.push(encodeFrame({ kind: FrameKind.AsyncMessage, topic: 'after', payload: 'ok', syncToken: undefined }, limits));
      expect(c.errors).toHaveLength(1);
      expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_FRAME', false);
      expect(c.frames.map((f) => (f as MessageFrame).topic)).toEqual(['after']);
    }
  });

  /** E_k = ext32(0x6d, [1, E_k-1]), E_0 = ext32(0x6d, []): `levels` Maps nested in 8 bytes each. */
  function nestedMaps(levels: number): Buffer {
    const bytes = Buffer.alloc(7 + 8 * levels);
    let p = 0;
    for (let k = levels; k >= 1; k--) {
      bytes[p++] = 0xc9;
      bytes.writeUInt32BE(2 + 7 + 8 * (k - 1), p);
      p += 4;
      bytes[p++] = MAP_EXTENSION_TYPE;
      bytes[p++] = 0x92;
      bytes[p++] = 0x01;
    }
    bytes.set([0xc9, 0, 0, 0, 1, MAP_EXTENSION_TYPE, 0x90], p);
    return bytes;
  }

  it('Maps nested 1000 deep decode (without using the stack); deeper rejects that message only, and decoding goes on', () => {
    let map = unpackPayload(nestedMaps(999)) as Map<number, unknown>;
    let depth = 1;
    while (map.size > 0) {
      map = map.get(1) as Map<number, unknown>;
      expect(map).toBeInstanceOf(Map);
      depth++;
    }
    expect(depth).toBe(1000);
    const c = collectFrames(limits);
    const placeholder = encodeFrame({ kind: FrameKind.AsyncMessage, topic: 't', payload: 'x', syncToken: undefined }, limits);
    const frame = Buffer.concat([placeholder.subarray(0, placeholder.length - 1), nestedMaps(100_000)]);
    frame.writeUInt32BE(frame.length - 4, 0);
    frame[5] = 2;
    c.decoder.push(frame);
    c.decoder.push(encodeFrame({ kind: FrameKind.AsyncMessage, topic: 'after', payload: new Map([[1, 2]]), syncToken: undefined }, limits));
    expect(c.errors).toHaveLength(1);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_FRAME', false);
    expect(c.errors[0]?.message).toContain('nested more than 1000 deep');
    expect(c.frames.map((f) => (f as MessageFrame).payload)).toEqual([new Map([[1, 2]])]);
  });

  it('the sender refuses Maps nested more than 1000 deep, as the receiver would, and sends 1000', () => {
    const nest = (levels: number) => {
      let map = new Map<number, unknown>();
      for (let i = 1; i < levels; i++) map = new Map([[1, map]]);
      return map;
    };
    expect(() => packPayload('deep', { m: nest(1001) })).toThrow(
      expect.objectContaining({ code: 'SYSTEMGE_ERR_PAYLOAD_UNENCODABLE', topic: 'deep', message: expect.stringContaining('1000 deep') }),
    );
    expect(unpackPayload(packPayload('deep', nest(1000)))).toBeInstanceOf(Map);
  });

  it('another msgpackr user in the process reads the Map extension as a Map too', () => {
    const value = { m: new Map<unknown, unknown>([['k', new Map([[1, [2]]])]]) };
    expect(sameValue(msgpackrUnpack(packPayload('t', value)), value)).toBe(true);
  });
});
