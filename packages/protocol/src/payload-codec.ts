import { Packr, Unpackr } from 'msgpackr';
import { PayloadEncodingError } from './errors.js';

/*
 * Structured payloads (anything but a string or a Uint8Array) travel as one msgpack value.
 *
 * - `useRecords: false`: plain msgpack maps, no msgpackr record definitions. Records would make a
 *   message depend on structures shared between sender and receiver, which breaks across versions
 *   and lets one peer's definitions shape how another's bytes decode.
 * - `moreTypes: true`: `Set`, typed arrays, `Error` and `RegExp` keep their type (msgpackr extensions);
 *   `Date` is the standard timestamp extension. A `Map` is carried as a msgpack map and arrives as a
 *   plain object with string keys (a per-instance `Map` extension would need msgpackr's process-wide
 *   extension registry, which would change what every other msgpackr user in the process writes).
 * - `structuredClone: false`: no reference tracking. A circular value is an error at the sender; the
 *   receiver refuses the reference extensions, so a peer cannot make it build reference tables.
 * - `int64AsType: 'bigint'`: a `bigint` comes back as a `bigint`; numbers stay numbers.
 * - `mapsAsObjects: true` on receive: maps become objects. msgpackr renames a `__proto__` key to
 *   `__proto_`, so a payload cannot reach `Object.prototype` or swap an object's prototype.
 *
 * Decoding work is linear in the encoded bytes, which `maxPayloadBytes` bounds: a declared array or
 * map length beyond the bytes present fails at once, and nesting too deep to recurse fails with an error.
 */
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
    return packr.pack(value);
  } catch (error) {
    throw new PayloadEncodingError(topic, reason(error), { cause: error });
  }
}

/** Decodes a structured payload; throws on bytes that are not exactly one msgpack value. */
export function unpackPayload(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}
