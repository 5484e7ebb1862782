/**
 * The raw baseline: length-prefixed buffers over `node:net` with nothing else, written the
 * way a careful hand-rolled protocol would be. No topic, no correlation id, no validation.
 */

/**
 * Sends `u32 length + payload` as fast as the socket takes it: many writes per tick under
 * `cork()`, one `uncork()` on the next tick (one writev), stop when `write()` returns false
 * and go on at `'drain'`. A Buffer payload is written as is after a 4-byte header (two writes
 * per message). A string payload is UTF-8-encoded for every message, as a sender of text would,
 * into one buffer with its header (one write per message).
 */
export function rawSender(socket, payload) {
  let stopped = false;
  const uncork = () => socket.uncork();
  const writeOne =
    typeof payload === 'string'
      ? () => {
          const length = Buffer.byteLength(payload);
          const frame = Buffer.allocUnsafe(4 + length);
          frame.writeUInt32BE(length, 0);
          frame.write(payload, 4);
          return socket.write(frame);
        }
      : () => {
          const header = Buffer.allocUnsafe(4);
          header.writeUInt32BE(payload.length, 0);
          socket.write(header);
          return socket.write(payload);
        };
  const pump = () => {
    if (stopped) return;
    socket.cork();
    while (writeOne());
    process.nextTick(uncork);
    socket.once('drain', pump);
  };
  return {
    start: pump,
    stop() {
      stopped = true;
    },
  };
}

/**
 * A minimal streaming length-prefix parser: hands each body to `onMessage` as a view of the
 * chunk it arrived in; only a body split across chunks is copied, once.
 */
export function rawParser(onMessage) {
  const header = Buffer.allocUnsafe(4);
  let headerFilled = 0;
  let partial = null;
  let partialFilled = 0;
  return function push(chunk) {
    let off = 0;
    const len = chunk.length;
    if (partial !== null) {
      const n = Math.min(partial.length - partialFilled, len);
      chunk.copy(partial, partialFilled, 0, n);
      partialFilled += n;
      off = n;
      if (partialFilled < partial.length) return;
      const body = partial;
      partial = null;
      onMessage(body);
    }
    while (off < len) {
      let size;
      if (headerFilled > 0 || len - off < 4) {
        const n = Math.min(4 - headerFilled, len - off);
        chunk.copy(header, headerFilled, off, off + n);
        headerFilled += n;
        off += n;
        if (headerFilled < 4) return;
        headerFilled = 0;
        size = header.readUInt32BE(0);
      } else {
        size = chunk.readUInt32BE(off);
        off += 4;
      }
      if (len - off < size) {
        partial = Buffer.allocUnsafe(size);
        chunk.copy(partial, 0, off, len);
        partialFilled = len - off;
        return;
      }
      onMessage(chunk.subarray(off, off + size));
      off += size;
    }
  };
}
