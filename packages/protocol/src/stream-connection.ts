import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConnectionClosedError, ConnectionError, FieldTooLargeError, type ProtocolError, type SystemgeError } from './errors.js';
import { FrameDecoder, messageFrame } from './frame-decoder.js';
import { FrameWriter } from './frame-writer.js';
import { type Frame, FrameKind, type MessageKind, type Payload, type SyncTokenInput } from './frames.js';
import { resolveLimits, type ProtocolLimits } from './limits.js';
import type { CloseInfo, CloseOptions, Connection, ConnectionHandlers, PeerCertificateInfo } from './transport.js';

/** What a transport knows about the socket it wraps. */
export interface StreamConnectionInfo {
  transport: string;
  remoteAddress: string;
  remotePort: number;
  remoteFamily: string;
  localAddress: string;
  localPort: number;
  secure?: boolean;
  peerCertificate?: PeerCertificateInfo | undefined;
}

export interface StreamConnectionOptions {
  limits?: Partial<ProtocolLimits> | ProtocolLimits;
  /** Outgoing buffer above which `send` returns false, bytes. Default 1 MiB. */
  highWaterMark?: number;
  /** How long `close()` waits for the peer before destroying the socket, ms. Default 5000. */
  closeTimeoutMs?: number;
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
const FIELD_LIMIT = {
  topic: 'maxTopicBytes',
  payload: 'maxPayloadBytes',
  syncToken: 'maxSyncTokenBytes',
  name: 'maxNodeNameBytes',
} as const;
const CLOSED_BY_PEER = 'connection closed by peer';

/**
 * Turns any byte stream (a `net.Socket`, a `tls.TLSSocket`, an in-memory duplex) into a
 * framed `Connection`. Transports share this so framing, batching, backpressure and
 * close semantics are identical everywhere.
 */
export function createStreamConnection(socket: Duplex, info: StreamConnectionInfo, options: StreamConnectionOptions = {}): Connection {
  return new StreamConnection(socket, info, options);
}

class StreamConnection implements Connection {
  readonly transport: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly secure: boolean;
  readonly peerCertificate: PeerCertificateInfo | undefined;
  readonly limits: ProtocolLimits;
  /** What frames sent on this connection are held to: the smaller of this side's and the peer's limits. */
  private readonly sendLimits: ProtocolLimits;
  private peerLimitsOwner: string | undefined;
  bytesIn = 0;
  framesIn = 0;
  closed = false;
  closeInfo: CloseInfo | undefined;

  private readonly socket: Duplex;
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private readonly highWaterMark: number;
  private readonly closeTimeoutMs: number;
  private handlers: ConnectionHandlers | undefined;
  private localClose: { code: string; reason: string; error?: SystemgeError | undefined } | undefined;
  /** `close(…, { deliverUntilPeerCloses })`: frames after our goodbye still reach the handlers. */
  private deliverAfterClose = false;
  private remoteGoodbye: { code: string; reason: string } | undefined;
  private socketError: SystemgeError | undefined;
  private wantDrain = false;
  /** A valid frame has arrived (before that, the peer is unauthenticated). */
  private firstFrameSeen = false;
  private sinkBlocked = false;
  private userPaused = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly closeWaiters: (() => void)[] = [];

  constructor(socket: Duplex, info: StreamConnectionInfo, options: StreamConnectionOptions) {
    this.socket = socket;
    this.transport = info.transport;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.remoteFamily = info.remoteFamily;
    this.localAddress = info.localAddress;
    this.localPort = info.localPort;
    this.secure = info.secure ?? false;
    this.peerCertificate = info.peerCertificate;
    this.limits = resolveLimits(options.limits);
    this.sendLimits = { ...this.limits };
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.decoder = new FrameDecoder(
      this.limits,
      {
        onFrame: (frame) => this.onDecodedFrame(frame),
        onMessage: (kind, topic, payload, syncToken, payloadBytes) => this.onDecodedMessage(kind, topic, payload, syncToken, payloadBytes),
        knownToken: (buf, start, end) => this.handlers?.knownToken?.(buf, start, end),
        onError: (error) => this.onDecodeError(error),
      },
      { handshakeFirst: true },
    );
    // The write callback re-checks drain: a socket whose write() returned true emits no
    // 'drain', yet may still hold more than our high-water mark when the kernel is full.
    // A net.Socket (TLS included) is done with a chunk's bytes when its write callback runs, so the
    // writer reuses its buffer instead of allocating one per 64 KiB; another stream (in memory) may
    // pass the chunk itself to its reader, so its writer never reuses a buffer.
    const onWritten = (): void => {
      this.writer.written();
      this.checkDrain();
    };
    this.writer = new FrameWriter(
      { write: (chunk) => socket.write(chunk, onWritten) },
      this.sendLimits,
      (accepted) => this.afterFlush(accepted),
      { recycle: socket instanceof Socket },
    );
    socket.pause();
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      this.decoder.push(chunk);
    });
    socket.on('end', () => this.decoder.end());
    socket.on('drain', () => {
      this.sinkBlocked = false;
      this.checkDrain();
    });
    socket.on('error', (err: Error & { code?: string }) => {
      this.socketError ??= new ConnectionError(`${err.code ?? 'socket error'}: ${err.message}`, { cause: err });
    });
    socket.on('close', () => this.onSocketClose());
  }

  get bytesOut(): number {
    return this.writer.bytesWritten;
  }

  get framesOut(): number {
    return this.writer.framesWritten;
  }

  get bufferedBytes(): number {
    return this.socket.writableLength + this.writer.pendingBytes;
  }

  get writable(): boolean {
    return !this.closed && this.bufferedBytes < this.highWaterMark;
  }

  get paused(): boolean {
    return this.userPaused;
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    const info = this.closeInfo;
    // Closed before anyone listened: still report it, once.
    if (info !== undefined) process.nextTick(() => handlers.onClose?.(info));
    else if (!this.userPaused) this.socket.resume();
  }

  setPeerLimits(limits: Partial<ProtocolLimits>, owner?: string): void {
    for (const key of Object.keys(this.limits) as (keyof ProtocolLimits)[]) {
      const theirs = limits[key];
      this.sendLimits[key] =
        typeof theirs === 'number' && Number.isInteger(theirs) && theirs > 0 ? Math.min(this.limits[key], theirs) : this.limits[key];
    }
    this.peerLimitsOwner = owner;
  }

  send(frame: Frame): boolean {
    this.assertOpen();
    try {
      this.writer.write(frame);
    } catch (error) {
      throw this.namePeerLimit(error);
    }
    return this.afterSend();
  }

  sendMessage(kind: MessageKind, topic: string, payload: Payload, syncToken: SyncTokenInput | undefined): boolean {
    this.assertOpen();
    try {
      this.writer.writeMessage(kind, topic, payload, syncToken);
    } catch (error) {
      throw this.namePeerLimit(error);
    }
    return this.afterSend();
  }

  private assertOpen(): void {
    if (this.closed || this.localClose !== undefined) {
      throw new ConnectionClosedError(`cannot send on a closed ${this.transport} connection to ${this.remoteAddress}:${this.remotePort}`);
    }
  }

  private afterSend(): boolean {
    if (this.writer.pendingBytes + this.socket.writableLength < this.highWaterMark) return true;
    this.wantDrain = true;
    return false;
  }

  /** A limit error caused by the peer's smaller limit names the peer. */
  private namePeerLimit(error: unknown): unknown {
    const owner = this.peerLimitsOwner;
    if (owner === undefined) return error;
    if (error instanceof FieldTooLargeError && error.limitOwner === undefined) {
      const key = FIELD_LIMIT[error.field];
      if (this.sendLimits[key] >= this.limits[key]) return error;
      return new FieldTooLargeError(error.field, error.size, error.limit, {
        frameKind: error.frameKind,
        topic: error.topic,
        syncToken: error.syncToken,
        limitOwner: owner,
        cause: error,
      });
    }
    return error;
  }

  pause(): void {
    this.userPaused = true;
    this.decoder.pause();
    this.socket.pause();
  }

  resume(): void {
    if (!this.userPaused) return;
    this.userPaused = false;
    if (this.closed) return;
    this.decoder.resume();
    // The decoder may have paused again while delivering what it held back.
    if (!this.userPaused && this.handlers !== undefined) this.socket.resume();
  }

  close(reason = 'closed', code = 'normal', options?: CloseOptions): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (options?.deliverUntilPeerCloses === true && this.localClose === undefined) this.deliverAfterClose = true;
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    if (this.localClose === undefined) this.beginClose(code, reason, undefined);
    return done;
  }

  destroy(error?: SystemgeError): void {
    if (this.closed) return;
    this.localClose ??= {
      code: error?.code ?? 'destroyed',
      reason: error?.message ?? 'connection destroyed',
      error,
    };
    this.socket.destroy();
  }

  private beginClose(code: string, reason: string, error: SystemgeError | undefined): void {
    this.localClose = { code, reason, error };
    try {
      this.writer.write({ kind: FrameKind.Goodbye, code, reason });
      this.writer.flush();
    } catch {
      // The goodbye is a courtesy; a socket that cannot take it is closed anyway.
    }
    this.socket.end();
    if (this.decoder.broken && !this.firstFrameSeen) {
      // A refused first frame (an unauthenticated peer): stop reading at once rather than read and
      // discard whatever it keeps sending; the socket is destroyed when the close timer fires.
      this.socket.pause();
    } else {
      // Keep reading so the peer's FIN is seen; what arrives after our goodbye is discarded (or
      // delivered, when the close asked for it).
      this.userPaused = false;
      this.decoder.resume();
      this.socket.resume();
    }
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.closeTimeoutMs);
    this.closeTimer.unref();
  }

  private onDecodedFrame(frame: Frame): void {
    this.framesIn++;
    this.firstFrameSeen = true;
    if (frame.kind === FrameKind.Goodbye) {
      this.remoteGoodbye = { code: frame.code, reason: frame.reason };
      return;
    }
    if (this.localClose !== undefined && !this.deliverAfterClose) return;
    this.handlers?.onFrame(frame);
  }

  /** A message frame, passed on as fields when the handlers take them (no object per message). */
  private onDecodedMessage(
    kind: MessageKind,
    topic: string,
    payload: Payload,
    syncToken: string | undefined,
    payloadBytes: number | undefined,
  ): void {
    this.framesIn++;
    this.firstFrameSeen = true;
    const handlers = this.handlers;
    if ((this.localClose !== undefined && !this.deliverAfterClose) || handlers === undefined) return;
    if (handlers.onMessage !== undefined) handlers.onMessage(kind, topic, payload, syncToken, payloadBytes);
    else handlers.onFrame(messageFrame(kind, topic, payload, syncToken, payloadBytes));
  }

  private onDecodeError(error: ProtocolError): void {
    this.framesIn++;
    this.handlers?.onError?.(error);
    if (error.fatal && this.localClose === undefined && !this.closed) {
      this.beginClose(error.code, error.message, error);
    }
  }

  private afterFlush(accepted: boolean): void {
    if (!accepted) this.sinkBlocked = true;
    else if (this.wantDrain) process.nextTick(checkDrainOf, this);
  }

  /** @internal For `checkDrainOf`. */
  checkDrainLater(): void {
    this.checkDrain();
  }

  private checkDrain(): void {
    if (!this.wantDrain || this.closed || this.sinkBlocked) return;
    if (this.bufferedBytes >= this.highWaterMark) return;
    this.wantDrain = false;
    this.handlers?.onDrain?.();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    let info: CloseInfo;
    if (this.localClose !== undefined) {
      info = { initiator: 'local', code: this.localClose.code, reason: this.localClose.reason, error: this.localClose.error };
    } else if (this.remoteGoodbye !== undefined) {
      info = { initiator: 'remote', code: this.remoteGoodbye.code, reason: this.remoteGoodbye.reason };
    } else if (this.socketError !== undefined) {
      info = { initiator: 'remote', code: this.socketError.code, reason: this.socketError.message, error: this.socketError };
    } else {
      const error = new ConnectionClosedError(CLOSED_BY_PEER);
      info = { initiator: 'remote', code: error.code, reason: CLOSED_BY_PEER, error };
    }
    this.closeInfo = info;
    this.handlers?.onClose?.(info);
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }
}

/** `connection.checkDrain()` for `process.nextTick` (no closure per flush). */
function checkDrainOf(connection: StreamConnection): void {
  connection.checkDrainLater();
}
