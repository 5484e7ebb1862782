import type { WebSocket } from 'ws';

/** Unsent bytes a feed client may have queued before it is dropped as too slow. */
const MAX_CLIENT_BUFFERED_BYTES = 4 * 1024 * 1024;

/** The WebSocket clients of `/ws`, and the messages pushed to all of them. */
export class LiveFeed {
  private readonly clients = new Set<WebSocket>();

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket): void {
    this.clients.add(socket);
    socket.once('close', () => this.clients.delete(socket));
  }

  /** Sends to one client; a client that cannot keep up is closed rather than buffered without bound. */
  send(socket: WebSocket, message: object): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_CLIENT_BUFFERED_BYTES) {
      socket.close(1013, 'client too slow');
      return;
    }
    socket.send(JSON.stringify(message));
  }

  broadcast(message: object): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(message);
    for (const socket of this.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount > MAX_CLIENT_BUFFERED_BYTES) socket.close(1013, 'client too slow');
      else socket.send(text);
    }
  }

  closeAll(): void {
    for (const socket of this.clients) socket.close(1001, 'dashboard stopping');
    this.clients.clear();
  }
}
