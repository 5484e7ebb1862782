import { addExtension, Packr, Unpackr } from 'msgpackr';
import { PayloadEncodingError } from './errors.js';

/*
 * Structured payloads (anything but a string or a Uint8Array) travel as one msgpack value.
 *
 * - `useRecords: false`: plain msgpack maps, no msgpackr record definitions. Records would make a
 *   message depend on structures shared between sender and receiver, which breaks across versions
 *   and lets one peer's definitions shape how another's bytes decode.
 * - `moreTypes: true`: `Set`, typed arrays, `Error` and `RegExp` keep their type (msgpackr extensions);
 *   `Date` is the standard timestamp extension.
 * - A `Map` travels as msgpack extension type 0x6d (`MAP_EXTENSION_TYPE`, see below) and arrives as a
 *   `Map` with its keys of any type; plain objects stay plain msgpack maps, as any msgpack decoder reads them.
 * - `structuredClone: false`: no reference tracking. A circular value is an error at the sender; the
 *   receiver refuses the reference extensions, so a peer cannot make it build reference tables.
 * - `int64AsType: 'bigint'`: a `bigint` comes back as a `bigint`; numbers stay numbers.
 * - `mapsAsObjects: true` on receive: maps become objects. msgpackr renames a `__proto__` key to
 *   `__proto_`, so a payload cannot reach `Object.prototype` or swap an object's prototype.
 *
 * Decoding work is linear in the encoded bytes, which `maxPayloadBytes` bounds: a declared array or
 * map length beyond the bytes present fails at once, nesting too deep to recurse fails with an error,
 * and so do Maps nested more than MAX_MAP_DEPTH deep (their entries are decoded without recursion).
 */
/*
 * Maps. msgpackr writes a `Map` as a plain msgpack map, which arrives as an object like any other, so
 * a `Map` gets an extension of its own: type 0x6d ("m") whose data is one msgpack array of the entries,
 * key then value, `[k0, v0, k1, v1, ...]`. Another msgpack implementation sees a well-delimited
 * extension it may skip or decode itself; plain objects are written exactly as before.
 *
 * msgpackr writes a `Map` before it looks at extensions, so `packPayload` first replaces every `Map`
 * of the value by a `WireMap`, a class of this module only, holding the `Map`'s entries already packed
 * (innermost first), and copies just the containers on the way to a `Map` (a value with no `Map` is
 * walked once and sent as it is). msgpackr keeps its extensions in a
 * process-wide registry: registering `WireMap` changes nothing any other code in the process writes
 * (no other code has a `WireMap`), and the only change to what other msgpackr users read is that an
 * extension of type 0x6d, which they would otherwise refuse as unknown, decodes as a `Map`. An
 * application registering its own msgpackr extension of type 0x6d would clash: msgpackr reserves
 * 101-127 for itself and leaves 1-100 to applications, so 0x6d (109) is outside the applications' range.
 */
/** The msgpack extension type a `Map` travels as. */
export const MAP_EXTENSION_TYPE = 0x6d;

/** A `Map` ready to be written: its entries already packed (so packing never nests inside a pack). */
class WireMap {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * True when `value` holds a `Map` anywhere msgpackr would look: in plain objects, arrays, `Set`s and
 * `Map`s. Runs on every structured payload, so it only descends into objects, plain ones first.
 */
function holdsMap(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    // Inherited enumerable keys can only make this say yes; replaceMaps copies own keys only.
    for (const key in value) {
      const v = (value as Record<string, unknown>)[key];
      if (typeof v === 'object' && v !== null && holdsMap(v)) return true;
    }
    return false;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null && holdsMap(v)) return true;
    }
    return false;
  }
  if (value instanceof Map) return true;
  if (value instanceof Set) {
    for (const v of value) if (typeof v === 'object' && v !== null && holdsMap(v)) return true;
  }
  return false;
}

/** `value` with every `Map` replaced by a `WireMap` (the containers copied); a value with no `Map` as it is. */
function withWireMaps(value: unknown): unknown {
  return typeof value === 'object' && value !== null && holdsMap(value) ? replaceMaps(value) : value;
}

/** `depth`: how many Maps `value` is inside; past MAX_MAP_DEPTH the receiver would refuse it, so the sender does. */
function replaceMaps(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Map) {
    if (depth >= MAX_MAP_DEPTH) throw new Error(`Maps nested more than ${MAX_MAP_DEPTH} deep`);
    const entries = new Array<unknown>(value.size * 2);
    let i = 0;
    for (const [k, v] of value) {
      entries[i++] = replaceMaps(k, depth + 1);
      entries[i++] = replaceMaps(v, depth + 1);
    }
    // Inner Maps were packed first, so this pack writes their bytes and does not nest. Copied: the
    // packer reuses its buffer.
    return new WireMap(Buffer.from(packr.pack(entries)));
  }
  if (Array.isArray(value)) return value.map((v) => replaceMaps(v, depth));
  if (value instanceof Set) return new Set(Array.from(value, (v) => replaceMaps(v, depth)));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = replaceMaps((value as Record<string, unknown>)[key], depth);
    // A `__proto__` key stays a key (msgpackr writes own enumerable keys); plain assignment otherwise.
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}

addExtension({
  Class: WireMap,
  type: MAP_EXTENSION_TYPE,
  pack(map: WireMap): Buffer {
    return map.bytes;
  },
  unpack(data: Uint8Array): Map<unknown, unknown> {
    const map = new Map<unknown, unknown>();
    // Another msgpackr user in the process reading an 0x6d extension: decoded at once (nested).
    if (deferred === undefined) fillMap(map, unpackr.unpack(data));
    else {
      if (mapDepth >= MAX_MAP_DEPTH) throw new Error(`Maps nested more than ${MAX_MAP_DEPTH} deep`);
      deferred.push({ map, data, depth: mapDepth + 1 });
    }
    return map;
  },
});

/*
 * Decoding a Map's entries inside the unpack that found it would nest one msgpackr unpack in another,
 * and msgpackr copies the whole outer source at each nested call: Maps nested d deep in n bytes would
 * cost about d * n. So `unpackPayload` takes each Map's entries as a view of its bytes and places an
 * empty Map in the value at once; when the unpack is done it decodes the views one after another (each
 * may defer Maps of its own) and fills the Maps in. Every byte is decoded once, nothing nests, and
 * Maps may nest up to MAX_MAP_DEPTH deep without using the stack.
 */
const MAX_MAP_DEPTH = 1000;
let deferred: { map: Map<unknown, unknown>; data: Uint8Array; depth: number }[] | undefined;
/** The list `deferred` points to while a payload is unpacked, reused. */
const deferredMaps: NonNullable<typeof deferred> = [];
/** How deep the Map whose entries are being decoded is (0 for the payload itself). */
let mapDepth = 0;

function fillMap(map: Map<unknown, unknown>, entries: unknown): void {
  if (!Array.isArray(entries) || entries.length % 2 !== 0) throw new Error('map extension data is not an array of key/value pairs');
  for (let i = 0; i < entries.length; i += 2) map.set(entries[i], entries[i + 1]);
}

const packr = new Packr({
  useRecords: false,
  moreTypes: true,
  structuredClone: false,
  bundleStrings: false,
  writeFunction: () => {
    throw new TypeError('a function cannot be sent');
  },
});

const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: true,
  structuredClone: false,
  int64AsType: 'bigint',
});

function reason(error: unknown): string {
  if (error instanceof RangeError && /call stack/i.test(error.message)) return 'circular or too deeply nested value';
  return error instanceof Error ? error.message : String(error);
}

/** Encodes a structured payload. Throws `PayloadEncodingError` naming `topic` for a value msgpack cannot carry. */
export function packPayload(topic: string, value: unknown): Buffer {
  if (typeof value === 'symbol') throw new PayloadEncodingError(topic, 'a symbol cannot be sent');
  try {
    return packr.pack(withWireMaps(value));
  } catch (error) {
    throw new PayloadEncodingError(topic, reason(error), { cause: error });
  }
}

/** Decodes a structured payload; throws on bytes that are not exactly one msgpack value. */
export function unpackPayload(bytes: Uint8Array): unknown {
  // One list for every call (unpacking is synchronous), emptied after use: no array per message. A
  // call made while another one unpacks (never, today) gets its own.
  const outer = deferred;
  const maps: NonNullable<typeof deferred> = outer === undefined ? deferredMaps : [];
  deferred = maps;
  mapDepth = 0;
  try {
    const value = unpackr.unpack(bytes);
    // `maps` grows while it is read: the Maps found in one Map's entries are filled after it.
    for (let i = 0; i < maps.length; i++) {
      const { map, data, depth } = maps[i] as (typeof maps)[number];
      mapDepth = depth;
      fillMap(map, unpackr.unpack(data));
    }
    return value;
  } finally {
    maps.length = 0;
    deferred = outer;
    mapDepth = 0;
  }
}

/**
 * Payload encodings by the names handshakes announce them with (`encodings`); a name's index is its
 * encoding byte on the wire (`PayloadEncoding`).
 */
export const PAYLOAD_ENCODING_NAMES = ['text', 'bytes', 'msgpack'] as const;
export type PayloadEncodingName = (typeof PAYLOAD_ENCODING_NAMES)[number];

/** The encodings this build accepts, announced in its handshakes. */
export const ACCEPTED_ENCODINGS: readonly PayloadEncodingName[] = PAYLOAD_ENCODING_NAMES;

/**
 * Text and bytes: what every version of the protocol accepts, so also what a peer that announced no
 * `encodings` (it predates structured payloads) is taken to accept. As a bit set of encoding bytes.
 */
export const BASE_ENCODINGS = 0b011;

/**
 * The encodings a peer accepts, as a bit set of encoding bytes (bit `n` for encoding byte `n`), from
 * the `encodings` of its handshake: text and bytes always, the names this build knows, unknown names
 * (a newer peer's) ignored. `undefined` (a peer that predates the field) gives `BASE_ENCODINGS`.
 */
export function encodingSet(names: readonly string[] | undefined): number {
  let set = BASE_ENCODINGS;
  if (names === undefined) return set;
  for (const name of names) {
    const index = (PAYLOAD_ENCODING_NAMES as readonly string[]).indexOf(name);
    if (index >= 0) set |= 1 << index;
  }
  return set;
}

/** True when the bit set from `encodingSet` holds encoding byte `encoding`. */
export function acceptsEncoding(set: number, encoding: number): boolean {
  return ((set >>> encoding) & 1) === 1;
}

/** The names of a bit set from `encodingSet`, for messages. */
export function encodingNames(set: number): PayloadEncodingName[] {
  return PAYLOAD_ENCODING_NAMES.filter((_, index) => acceptsEncoding(set, index));
}
