import { FrameDecoder, ProtocolError, resolveLimits, type Frame, type ProtocolLimits } from '../src/index.js';

/** What a decoder reported, in order: frames and errors interleaved as they happened. */
export type DecodeEvent = { frame: Frame } | { error: ProtocolError };

export interface Collector {
  decoder: FrameDecoder;
  events: DecodeEvent[];
  frames: Frame[];
  errors: ProtocolError[];
}

/** A decoder whose sink records everything it reports. */
export function collectFrames(limits?: Partial<ProtocolLimits>, onFrame?: (frame: Frame, decoder: FrameDecoder) => void): Collector {
  const events: DecodeEvent[] = [];
  const frames: Frame[] = [];
  const errors: ProtocolError[] = [];
  const decoder: FrameDecoder = new FrameDecoder(resolveLimits(limits), {
    onFrame(frame) {
      events.push({ frame });
      frames.push(frame);
      onFrame?.(frame, decoder);
    },
    onError(error) {
      events.push({ error });
      errors.push(error);
    },
  });
  return { decoder, events, frames, errors };
}

/** Binary payloads come back as Buffer views; compare them by content, not by class. */
export function normalize(frame: Frame): unknown {
  if (frame.kind <= 4 && 'payload' in frame && frame.payload instanceof Uint8Array) {
    return { ...frame, payload: { binary: Buffer.from(frame.payload).toString('hex') } };
  }
  return frame;
}

export function expectProtocolError(error: unknown, code: string, fatal: boolean): void {
  if (!(error instanceof ProtocolError)) throw new Error(`expected a ProtocolError, got ${String(error)}`);
  if (error.code !== code || error.fatal !== fatal) {
    throw new Error(`expected ${code} (fatal ${fatal}), got ${error.code} (fatal ${error.fatal}): ${error.message}`);
  }
}

/** Builds a raw frame: u32 length, kind byte, body. */
export function rawFrame(kind: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[4] = kind;
  out.set(body, 5);
  return out;
}

/** Builds a raw message frame with exact field bytes, bypassing the encoder's checks. */
export function rawMessage(kind: number, topic: Uint8Array, token: Uint8Array, payload: Uint8Array, flags = 0): Buffer {
  const body = Buffer.alloc(1 + 2 + topic.length + 2 + token.length + payload.length);
  let p = 0;
  body[p++] = flags;
  body.writeUInt16BE(topic.length, p);
  p += 2;
  body.set(topic, p);
  p += topic.length;
  body.writeUInt16BE(token.length, p);
  p += 2;
  body.set(token, p);
  p += token.length;
  body.set(payload, p);
  return rawFrame(kind, body);
}
