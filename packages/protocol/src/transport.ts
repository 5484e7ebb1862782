import type { SystemgeError } from './errors.js';
import type { KnownTokenLookup, MessageFieldsHandler } from './frame-decoder.js';
import type { Frame, MessageKind, Payload, SyncTokenInput } from './frames.js';
import type { ProtocolLimits } from './limits.js';

/** The address of the other end of a connection, as seen by the socket layer. */
export interface RemoteAddress {
  address: string;
  port: number;
  /** `IPv4` or `IPv6`. */
  family: string;
}

/** Why a connection ended. */
export interface CloseInfo {
  /** `local` when this side closed or rejected the stream, `remote` when the peer did or the link failed. */
  initiator: 'local' | 'remote';
  /** `normal` for an orderly close, otherwise an error code such as `SYSTEMGE_ERR_FRAME_TOO_LARGE`. */
  code: string;
  /** Human-readable reason (from a goodbye frame when the peer sent one). */
  reason: string;
  /** The error behind an abnormal close. */
  error?: SystemgeError | undefined;
}

/** How `Connection.close` treats frames that arrive after this side's goodbye. */
export interface CloseOptions {
  /**
   * Keep handing them to the handlers until the peer closes its side (or the close timeout ends the
   * socket), instead of discarding them. For a connection the peer may still be sending on in good
   * faith, such as one replaced by another connection to the same peer: what it sent is delivered,
   * not lost. Default false.
   */
  deliverUntilPeerCloses?: boolean;
}

/** Callbacks of a connection. Set once with `setHandlers`; reading starts then. */
export interface ConnectionHandlers {
  /** A decoded, valid frame (goodbye frames are consumed by the connection and show up in `onClose`). */
  onFrame(frame: Frame): void;
  /**
   * Optional: message frames (async messages, sync requests, responses, failures) as their fields,
   * so no frame object is built per message. A connection that does not call it calls `onFrame`.
   */
  onMessage?: MessageFieldsHandler | undefined;
  /**
   * Optional: recognises a response's sync token from its bytes when it is one of this side's (see
   * `FrameSink.knownToken`); such a response costs no token string. A connection may ignore it.
   */
  knownToken?: KnownTokenLookup | undefined;
  /** A rejected frame (`fatal: false`), or the error that is about to close the connection. */
  onError?(error: SystemgeError): void;
  /** The outgoing buffer fell below the high-water mark after `send` returned false. */
  onDrain?(): void;
  /** The connection is closed; called exactly once. */
  onClose?(info: CloseInfo): void;
}

/** Subject and issuer of a verified TLS peer certificate. */
export interface PeerCertificateInfo {
  subjectCN: string | undefined;
  subjectAltNames: string[];
  issuerCN: string | undefined;
  fingerprint256: string;
  validTo: string;
}

/** A framed, bidirectional link to one peer. Implemented by every transport. */
export interface Connection {
  /** Name of the transport that made it, e.g. `tcp`. */
  readonly transport: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily: string;
  readonly localAddress: string;
  readonly localPort: number;
  /** True when the link is encrypted. */
  readonly secure: boolean;
  /** The verified peer certificate (TLS with client or server certificates), else undefined. */
  readonly peerCertificate: PeerCertificateInfo | undefined;
  readonly limits: ProtocolLimits;
  /** Bytes received and sent, length prefixes included. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Frames received (valid or not) and sent. */
  readonly framesIn: number;
  readonly framesOut: number;
  /** Bytes accepted by `send` but not yet handed to the kernel. */
  readonly bufferedBytes: number;
  /** False while `bufferedBytes` is above the high-water mark: wait for `onDrain`. */
  readonly writable: boolean;
  /** True while reading is paused. */
  readonly paused: boolean;
  readonly closed: boolean;
  /** Set once the connection is closed. */
  readonly closeInfo: CloseInfo | undefined;
  /** Installs the callbacks and starts reading. */
  setHandlers(handlers: ConnectionHandlers): void;
  /**
   * Queues one frame. Frames queued in the same tick leave in one write.
   * Returns `writable`: false means stop sending until `onDrain`.
   * Throws `SYSTEMGE_ERR_CONNECTION_CLOSED` after close and a ProtocolError when the frame breaks a limit.
   */
  send(frame: Frame): boolean;
  /**
   * `send` of a message frame given by its fields, which spares the caller a frame object per message.
   * The token may be given as a string or written from its parts (`SyncTokenSource`). Optional for
   * custom connections: without it, callers build the frame and use `send`.
   */
  sendMessage?(kind: MessageKind, topic: string, payload: Payload, syncToken: SyncTokenInput | undefined): boolean;
  /**
   * Holds frames sent from now on to the peer's announced limits as well as this side's: a frame the
   * peer would refuse throws `SYSTEMGE_ERR_FIELD_TOO_LARGE` here, naming `owner` (e.g. `peer "b"`).
   * Invalid or missing entries keep this side's limit. Optional for custom connections.
   */
  setPeerLimits?(limits: Partial<ProtocolLimits>, owner?: string): void;
  /** Stops reading from the socket (backpressure toward the peer). */
  pause(): void;
  resume(): void;
  /**
   * Sends a goodbye with the reason, flushes, and closes. Frames arriving after that are discarded,
   * unless `options.deliverUntilPeerCloses`. Resolves when the socket is closed.
   */
  close(reason?: string, code?: string, options?: CloseOptions): Promise<void>;
  /** Closes at once, without flushing. */
  destroy(error?: SystemgeError): void;
}

/** Decides, before any per-connection work, whether a remote may connect. Return a reason to refuse. */
export type AcceptFilter = (remote: RemoteAddress) => string | undefined;

export interface ListenOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port, 0 for any free port. Default 0. */
  port?: number;
  /** Codec limits for accepted connections. Defaults: DEFAULT_LIMITS. */
  limits?: Partial<ProtocolLimits>;
  /** Outgoing buffer size above which `send` returns false, bytes. Default 1 MiB. */
  highWaterMark?: number;
  /** Called for each accepted (and, for TLS, authenticated) connection. */
  onConnection(connection: Connection): void;
  /** Cheap check run on the raw socket before anything else; a returned string refuses the socket. */
  accept?: AcceptFilter;
  /** A socket refused by `accept` or failing before it became a connection (e.g. a TLS handshake error). */
  onRefused?(remote: RemoteAddress, reason: string, error?: SystemgeError): void;
}

/** A bound listening socket. */
export interface Listener {
  readonly transport: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting and releases the port. Accepted connections stay open; their owner closes them. */
  close(): Promise<void>;
}

/** Where to dial. Transport-specific fields are ignored by transports that do not use them. */
export interface DialTarget {
  host: string;
  port: number;
  /** TLS: server name for SNI and certificate verification. Default: host. */
  serverName?: string;
  /** TLS: CA certificate(s), PEM, that verify this endpoint. Default: the transport's CA. */
  ca?: string | Uint8Array | (string | Uint8Array)[];
}

export interface DialOptions {
  /** Codec limits for this connection. Defaults: DEFAULT_LIMITS. */
  limits?: Partial<ProtocolLimits>;
  /** Outgoing buffer size above which `send` returns false, bytes. Default 1 MiB. */
  highWaterMark?: number;
  /** Gives up connecting after this long, ms. Default 10000. */
  timeoutMs?: number;
  /** Aborts the dial. */
  signal?: AbortSignal;
}

/** Makes connections. `@systemge/transport-tcp` and `@systemge/transport-tls` implement it. */
export interface Transport {
  /** Short name, e.g. `tcp`, `tls`, `memory`. */
  readonly name: string;
  /**
   * True when a listener only accepts peers whose certificate it verified (mutual TLS). Nodes use it to
   * tell an open listener from an authenticated one. Default: false.
   */
  readonly verifiesPeers?: boolean;
  listen(options: ListenOptions): Promise<Listener>;
  dial(target: DialTarget, options?: DialOptions): Promise<Connection>;
}
