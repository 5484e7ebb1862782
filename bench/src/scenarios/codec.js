/**
 * Codec: encode and decode of async message frames, in one process, no I/O, timed in CPU
 * seconds of the process.
 *
 * - systemge: the real codec. Encode = `messageFrameBound` + `encodeMessageInto` into a
 *   64 KiB output buffer (what FrameWriter does per frame). Decode = `FrameDecoder.push`
 *   of a 64 KiB chunk of frames into a sink that counts (includes UTF-8 validation of
 *   topic and payload and the frame object handed to the sink).
 * - msgpackr: the alternative format, a msgpackr map {kind, topic, payload, syncToken}
 *   behind the same u32 length prefix. Encode = `pack` + prefix + copy into the same output
 *   buffer. Decode = the same length-prefix walk + `unpack` + type checks of the fields. It
 *   skips the byte-length limits and UTF-8 validation the real decoder does, so it is a
 *   lower bound of what a msgpackr-only codec would cost.
 */
import { DEFAULT_LIMITS, FrameDecoder, FrameKind, encodeMessageInto, messageFrameBound } from '@systemge/protocol';
import { Packr, Unpackr } from 'msgpackr';
import { formatNumber, formatSummary, repeat, timeLoop } from '../harness.js';
import { PAYLOAD_SIZES, TOPIC, sizeLabel, textPayload } from '../payloads.js';

const OUT_BYTES = 64 * 1024;
const ENCODE_BATCH = 256;

// The same msgpackr settings the protocol package uses for control frames.
const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

function frameFor(size) {
  return { kind: FrameKind.AsyncMessage, topic: TOPIC, payload: textPayload(size), syncToken: undefined };
}

function systemgeEncoder(frame) {
  const out = Buffer.allocUnsafe(OUT_BYTES);
  let pos = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      if (OUT_BYTES - pos < messageFrameBound(frame)) pos = 0;
      pos = encodeMessageInto(frame, out, pos, DEFAULT_LIMITS);
    }
  };
}

function msgpackrEncoder(frame) {
  const out = Buffer.allocUnsafe(OUT_BYTES);
  let pos = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const body = packr.pack(frame);
      if (OUT_BYTES - pos < body.length + 4) pos = 0;
      out.writeUInt32BE(body.length, pos);
      body.copy(out, pos + 4);
      pos += body.length + 4;
    }
  };
}

/** One frame as each codec puts it on the wire, prefix included. */
function wireFrame(codec, frame) {
  if (codec === 'systemge') {
    const out = Buffer.allocUnsafe(messageFrameBound(frame));
    return Buffer.from(out.subarray(0, encodeMessageInto(frame, out, 0, DEFAULT_LIMITS)));
  }
  const body = packr.pack(frame);
  const out = Buffer.allocUnsafe(body.length + 4);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** A chunk of about 64 KiB of whole frames; returns the chunk and how many frames it holds. */
function chunkOf(frameBytes) {
  const count = Math.max(1, Math.floor(OUT_BYTES / frameBytes.length));
  return { chunk: Buffer.concat(Array.from({ length: count }, () => frameBytes)), count };
}

function systemgeDecoder(frame) {
  const { chunk, count } = chunkOf(wireFrame('systemge', frame));
  let frames = 0;
  let bad = 0;
  const decoder = new FrameDecoder(DEFAULT_LIMITS, {
    onFrame(f) {
      frames++;
      if (f.payload.length !== frame.payload.length) bad++;
    },
    onError(error) {
      throw error;
    },
  });
  const run = (n) => {
    for (let i = 0; i < n; i += count) decoder.push(chunk);
  };
  return { run, batch: count, check: () => ({ frames, bad }) };
}

function msgpackrDecoder(frame) {
  const { chunk, count } = chunkOf(wireFrame('msgpackr', frame));
  let frames = 0;
  let bad = 0;
  const onFrame = (f) => {
    frames++;
    if (f.payload.length !== frame.payload.length) bad++;
  };
  const run = (n) => {
    for (let i = 0; i < n; i += count) {
      let off = 0;
      while (off + 4 <= chunk.length) {
        const len = chunk.readUInt32BE(off);
        off += 4;
        const m = unpackr.unpack(chunk.subarray(off, off + len));
        off += len;
        if (
          typeof m !== 'object' ||
          m === null ||
          typeof m.kind !== 'number' ||
          m.kind < 1 ||
          m.kind > 4 ||
          typeof m.topic !== 'string' ||
          m.topic.length === 0 ||
          (typeof m.payload !== 'string' && !(m.payload instanceof Uint8Array)) ||
          (m.syncToken !== undefined && m.syncToken !== null && typeof m.syncToken !== 'string')
        ) {
          throw new Error('invalid frame');
        }
        onFrame({ kind: m.kind, topic: m.topic, payload: m.payload, syncToken: m.syncToken ?? undefined });
      }
    }
  };
  return { run, batch: count, check: () => ({ frames, bad }) };
}

export const scenario = {
  name: 'codec',
  description: 'async message frame encode/decode: binary header (systemge) vs all-msgpackr',
  async run(ctx) {
    const { runs, seconds, warmupSeconds } = ctx.options;
    const rows = [];
    const notes = [];
    for (const size of PAYLOAD_SIZES) {
      const frame = frameFor(size);
      const wire = { systemge: wireFrame('systemge', frame).length, msgpackr: wireFrame('msgpackr', frame).length };
      for (const op of ['encode', 'decode']) {
        ctx.log(`codec ${op} ${sizeLabel(size)}`);
        const decoders = {};
        const result = await repeat(['systemge', 'msgpackr'], runs, (codec) => {
          if (op === 'encode') {
            const fn = codec === 'systemge' ? systemgeEncoder(frame) : msgpackrEncoder(frame);
            return timeLoop(fn, ENCODE_BATCH, seconds, warmupSeconds, 'cpu');
          }
          const d = codec === 'systemge' ? systemgeDecoder(frame) : msgpackrDecoder(frame);
          decoders[codec] = d;
          const opsPerSecond = timeLoop(d.run, d.batch, seconds, warmupSeconds, 'cpu');
          const { frames, bad } = d.check();
          if (frames === 0 || bad !== 0) throw new Error(`${codec} decoder delivered ${frames} frames, ${bad} wrong`);
          return opsPerSecond;
        });
        const ours = result.get('systemge');
        const theirs = result.get('msgpackr');
        for (const codec of ['systemge', 'msgpackr']) {
          const s = result.get(codec);
          rows.push({
            op,
            payload: sizeLabel(size),
            codec,
            frameBytes: wire[codec],
            opsPerSecond: s,
            mbPerSecond: {
              median: (s.median * size) / 1e6,
              min: (s.min * size) / 1e6,
              max: (s.max * size) / 1e6,
              values: s.values.map((v) => (v * size) / 1e6),
            },
            ratio: codec === 'systemge' ? ours.median / theirs.median : undefined,
          });
        }
      }
    }
    notes.push(
      'ops/s are per second of CPU time of the process (not wall time): other work on the machine lowers them less.',
      'MB/s counts payload bytes (10^6 B). ratio = systemge median / msgpackr median (higher is better for the binary header).',
    );
    return {
      columns: [
        { key: 'op', title: 'op' },
        { key: 'payload', title: 'payload' },
        { key: 'codec', title: 'codec' },
        { key: 'frameBytes', title: 'frame B', align: 'right' },
        { key: 'ops', title: 'ops/s median (min–max)', align: 'right' },
        { key: 'mb', title: 'MB/s', align: 'right' },
        { key: 'ratioText', title: 'systemge / msgpackr', align: 'right' },
      ],
      rows: rows.map((r) => ({
        ...r,
        ops: formatSummary(r.opsPerSecond),
        mb: formatNumber(r.mbPerSecond.median),
        ratioText: r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
      })),
      results: rows,
      notes,
    };
  },
};
