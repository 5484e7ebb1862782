import { encodeFrame, encodeMessageInto, messageFrameBound } from './frame-encoder.js';
import type { Frame, MessageFrame } from './frames.js';
import type { ProtocolLimits } from './limits.js';

/** Where a FrameWriter hands its batches. `write` returns false when the sink wants no more for now. */
export interface ByteSink {
  write(chunk: Uint8Array): boolean;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * Encodes frames straight into a shared output buffer and hands everything written in
 * one tick to the sink as a single chunk (one syscall for many small frames).
 * A full buffer is handed over at once, so long synchronous bursts still stream.
 */
export class FrameWriter {
  private readonly sink: ByteSink;
  private readonly limits: ProtocolLimits;
  private readonly onFlushed: (sinkAccepted: boolean) => void;
  private buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private start = 0;
  private pos = 0;
  private scheduled = false;
  /** Total bytes encoded so far. */
  bytesWritten = 0;
  framesWritten = 0;

  constructor(sink: ByteSink, limits: ProtocolLimits, onFlushed: (sinkAccepted: boolean) => void) {
    this.sink = sink;
    this.limits = limits;
    this.onFlushed = onFlushed;
  }

  /** Bytes encoded but not yet handed to the sink. */
  get pendingBytes(): number {
    return this.pos - this.start;
  }

  /** Encodes one frame. Throws a ProtocolError (and writes nothing) when it breaks a limit. */
  write(frame: Frame): void {
    let end: number;
    if (frame.kind <= 4) {
      const bound = messageFrameBound(frame as MessageFrame);
      this.ensure(bound);
      end = encodeMessageInto(frame as MessageFrame, this.buf, this.pos, this.limits);
    } else {
      const bytes = encodeFrame(frame, this.limits);
      this.ensure(bytes.length);
      bytes.copy(this.buf, this.pos);
      end = this.pos + bytes.length;
    }
    this.bytesWritten += end - this.pos;
    this.framesWritten++;
    this.pos = end;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushWriter, this);
    }
  }

  /** Hands everything pending to the sink now. */
  flush(): void {
    this.scheduled = false;
    if (this.pos === this.start) return;
    const chunk = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    this.onFlushed(this.sink.write(chunk));
  }

  private ensure(bytes: number): void {
    if (this.buf.length - this.pos >= bytes) return;
    if (this.pos > this.start) {
      const chunk = this.buf.subarray(this.start, this.pos);
      this.onFlushed(this.sink.write(chunk));
    }
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.start = 0;
    this.pos = 0;
  }
}

function flushWriter(writer: FrameWriter): void {
  writer.flush();
}
