import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { TokenBucket } from '@systemge/node';
import { OutgoingMessage, type WireFormat } from './wire-codec.js';

/** Why a client went away, as `onDisconnect` gets it. */
export interface DisconnectReason {
  /** The WebSocket close code: 1000 normal, 1001 going away, 1006 vanished without a close frame, 1008 policy, 1009 too large... */
  code: number;
  /** Human-readable reason: the client's close reason, or why the server cut it off. */
  reason: string;
  /** Which side ended the connection. */
  initiator: 'client' | 'server';
}

/** A connected WebSocket client, as handlers and callbacks see it. */
export interface WebSocketClient {
  /** Unguessable id (a random UUID). */
  readonly id: string;
  readonly remoteAddress: string;
  /** The `Origin` header of the upgrade request, if any. */
  readonly origin: string | undefined;
  /** Headers of the upgrade request (cookies, auth tokens...). */
  readonly headers: IncomingHttpHeaders;
  readonly connectedAt: number;
  /** Groups this client is in. */
  readonly groups: ReadonlySet<string>;
  /** `json` until the client sends a binary frame (with `binary: true`); replies mirror its last frame. */
  readonly format: WireFormat;
  /** Bytes queued for this client and not yet written to the network. */
  readonly bufferedBytes: number;
  /** Free slot for application state (user id, session...). */
  data: Record<string, unknown>;
  /** Sends a message; false when the client is gone or was just cut off as too slow. */
  send(topic: string, payload: unknown): boolean;
  /** Closes the connection with a close frame (default 1000). */
  close(code?: number, reason?: string): void;
}

/** What a client needs from the component that owns it. */
export interface ClientHost {
  deliver(client: ClientState, message: OutgoingMessage): boolean;
}

/** The component's record of one client; the public `WebSocketClient` view is the same object. */
export class ClientState implements WebSocketClient {
  data: Record<string, unknown> = {};
  format: WireFormat = 'json';
  readonly groups = new Set<string>();
  readonly connectedAt = Date.now();
  /** Undefined when the rate is 0 (unlimited). */
  readonly messages: TokenBucket | undefined;
  readonly bytes: TokenBucket | undefined;
  /** Answered the last ping (or sent anything) since the last liveness sweep. */
  alive = true;
  /** onConnect has run, so onDisconnect must run exactly once. */
  announced = false;
  closed = false;
  /** Set when the server cuts the client off, so onDisconnect reports the server's reason. */
  serverReason: DisconnectReason | undefined;
  /** Since when (epoch ms) the unsent data has been over `maxBufferedBytes`; undefined while under it. */
  overSince: number | undefined;
  /** Fires `slowClientTimeoutMs` after the send buffer went over `maxBufferedBytes`, to check it drained. */
  slowTimer: NodeJS.Timeout | undefined;
  /** A 'drain' listener is on the network socket. */
  watchingDrain = false;

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    readonly remoteAddress: string,
    readonly origin: string | undefined,
    readonly headers: IncomingHttpHeaders,
    /** The network socket under the WebSocket: its 'drain' event tells when the send buffer emptied. */
    readonly transport: Duplex,
    private readonly host: ClientHost,
    limits: { messagesPerSecond: number; messageBurst: number; bytesPerSecond: number; byteBurst: number },
  ) {
    const now = Date.now();
    this.messages = limits.messagesPerSecond > 0 ? new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now) : undefined;
    this.bytes = limits.bytesPerSecond > 0 ? new TokenBucket(limits.bytesPerSecond, limits.byteBurst, now) : undefined;
  }

  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  send(topic: string, payload: unknown): boolean {
    return this.host.deliver(this, new OutgoingMessage(topic, payload));
  }

  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.serverReason ??= { code, reason, initiator: 'server' };
    this.socket.close(code, reason);
  }

  /** Cuts the connection without a close handshake (the peer is dead or cannot take more bytes). */
  terminate(code: number, reason: string): void {
    if (this.closed) return;
    this.serverReason ??= { code, reason, initiator: 'server' };
    this.socket.terminate();
  }
}
