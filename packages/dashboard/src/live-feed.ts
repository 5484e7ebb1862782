import type { WebSocket } from 'ws';

/** How much a feed client may fall behind (the slow-client rule of `@systemge/websocket`). */
export interface LiveFeedLimits {
  /** Soft limit on a client's unsent bytes: it may go over it for a burst. Default 4194304 (4 MiB). */
  maxBufferedBytes: number;
  /** How long a client's unsent data may stay over `maxBufferedBytes` before it is disconnected, ms. Default 5000. */
  slowClientTimeoutMs: number;
  /** Hard limit: a send that would take a client's unsent data over it disconnects the client at once. Default 67108864 (64 MiB). */
  hardMaxBufferedBytes: number;
}

export const DEFAULT_LIVE_FEED_LIMITS: Readonly<LiveFeedLimits> = {
  maxBufferedBytes: 4 * 1024 * 1024,
  slowClientTimeoutMs: 5000,
  hardMaxBufferedBytes: 64 * 1024 * 1024,
};

/** The slow-client clock of one feed client. */
interface FeedClient {
  /** Since when (epoch ms) the unsent data has been over `maxBufferedBytes`; undefined while under it. */
  overSince: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The WebSocket clients of `/ws`, and the messages pushed to all of them. A client that cannot keep up is
 * disconnected rather than buffered without bound: at once when a send would take its unsent data over
 * `hardMaxBufferedBytes`, or when its unsent data stayed over `maxBufferedBytes` for `slowClientTimeoutMs`.
 * A burst over the soft limit that drains in time costs nothing.
 */
export class LiveFeed {
  private readonly clients = new Map<WebSocket, FeedClient>();
  /** Clients disconnected as too slow. */
  slowDisconnects = 0;

  constructor(
    private readonly limits: LiveFeedLimits = DEFAULT_LIVE_FEED_LIMITS,
    private readonly onSlow: (reason: string, bufferedBytes: number) => void = () => {},
  ) {}

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket): void {
    const client: FeedClient = { overSince: undefined, timer: undefined };
    this.clients.set(socket, client);
    socket.once('close', () => {
      clearTimeout(client.timer);
      this.clients.delete(socket);
    });
  }

  /** Sends to one client. */
  send(socket: WebSocket, message: object): void {
    const client = this.clients.get(socket);
    if (client !== undefined) this.deliver(socket, client, JSON.stringify(message));
  }

  broadcast(message: object): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(message);
    for (const [socket, client] of [...this.clients]) this.deliver(socket, client, text);
  }

  closeAll(): void {
    for (const [socket, client] of this.clients) {
      clearTimeout(client.timer);
      socket.close(1001, 'dashboard stopping');
    }
    this.clients.clear();
  }

  private deliver(socket: WebSocket, client: FeedClient, text: string): void {
    if (socket.readyState !== socket.OPEN) return;
    const { maxBufferedBytes, hardMaxBufferedBytes } = this.limits;
    const after = socket.bufferedAmount + Buffer.byteLength(text);
    if (after > hardMaxBufferedBytes) {
      this.cut(socket, client, `feed buffer over hardMaxBufferedBytes (${hardMaxBufferedBytes})`);
      return;
    }
    socket.send(text);
    // Under the limit at a send means it drained since the last one: the clock starts afresh next time.
    if (after <= maxBufferedBytes) {
      client.overSince = undefined;
      return;
    }
    if (client.overSince !== undefined) return;
    client.overSince = Date.now();
    client.timer ??= setTimeout(() => this.check(socket, client), this.limits.slowClientTimeoutMs);
  }

  /** The clock ran out: disconnect the client if its unsent data stayed over the soft limit all along. */
  private check(socket: WebSocket, client: FeedClient): void {
    client.timer = undefined;
    if (!this.clients.has(socket)) return;
    const { maxBufferedBytes, slowClientTimeoutMs } = this.limits;
    if (socket.bufferedAmount <= maxBufferedBytes) {
      client.overSince = undefined;
      return;
    }
    // Over the limit now, but maybe only again since a send found it drained: give it the rest of its time.
    const since = (client.overSince ??= Date.now());
    const left = slowClientTimeoutMs - (Date.now() - since);
    if (left > 0) {
      client.timer = setTimeout(() => this.check(socket, client), left);
      return;
    }
    this.cut(socket, client, `feed buffer over maxBufferedBytes (${maxBufferedBytes}) for ${slowClientTimeoutMs} ms`);
  }

  /** A close frame would queue behind the unsent data: cut the connection so its memory is freed now. */
  private cut(socket: WebSocket, client: FeedClient, reason: string): void {
    clearTimeout(client.timer);
    this.clients.delete(socket);
    this.slowDisconnects++;
    this.onSlow(reason, socket.bufferedAmount);
    socket.terminate();
  }
}
