import { Packr } from 'msgpackr';
import { WebSocketEncodeError } from './websocket-errors.js';

/** A message as clients send and receive it: `{ "topic": "chat", "payload": ... }`. */
export interface WebSocketMessage<P = unknown> {
  topic: string;
  payload: P;
}

export type WireFormat = 'json' | 'msgpack';

// Plain maps, no msgpackr records: any msgpack library on the client side can read them.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/** Why an incoming frame is not a message; sent back to the client as the `error` payload. */
export type DecodeResult = { ok: true; message: WebSocketMessage } | { ok: false; error: string };

function shape(value: unknown): DecodeResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'invalid message: expected an object {"topic": string, "payload": any}' };
  }
  const { topic, payload } = value as { topic?: unknown; payload?: unknown };
  if (typeof topic !== 'string' || topic === '') {
    return { ok: false, error: 'invalid message: "topic" must be a non-empty string' };
  }
  return { ok: true, message: { topic, payload } };
}

export function decodeText(data: Buffer): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return { ok: false, error: 'invalid message: not JSON' };
  }
  return shape(value);
}

export function decodeBinary(data: Buffer): DecodeResult {
  let value: unknown;
  try {
    value = packr.unpack(data);
  } catch {
    return { ok: false, error: 'invalid message: not msgpack' };
  }
  return shape(value);
}

/** Encodes once into a Buffer that every recipient's socket can share without copying. */
export function encode(format: WireFormat, topic: string, payload: unknown): Buffer {
  if (typeof topic !== 'string' || topic === '') throw new WebSocketEncodeError(String(topic), 'topic must be a non-empty string');
  try {
    if (format === 'msgpack') return packr.pack({ topic, payload });
    // JSON.stringify returns undefined for a top-level undefined payload only inside the object, which it omits.
    return Buffer.from(JSON.stringify({ topic, payload }), 'utf8');
  } catch (error) {
    throw new WebSocketEncodeError(topic, (error as Error).message, { cause: error });
  }
}

/** Lazily encodes one outgoing message in each format it is needed in. */
export class OutgoingMessage {
  private json: Buffer | undefined;
  private msgpack: Buffer | undefined;

  constructor(
    readonly topic: string,
    readonly payload: unknown,
  ) {}

  get(format: WireFormat): Buffer {
    if (format === 'json') return (this.json ??= encode('json', this.topic, this.payload));
    return (this.msgpack ??= encode('msgpack', this.topic, this.payload));
  }
}
