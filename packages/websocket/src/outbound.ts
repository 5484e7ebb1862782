import type { Logger } from '@systemge/node';
import type { Counters } from './counters.js';
import type { ResolvedOptions } from './options.js';
import type { ClientState } from './websocket-client.js';
import { OutgoingMessage } from './wire-codec.js';

/**
 * The one place bytes go out, with the slow-client policy: a send that would take a client's unsent data
 * over `hardMaxBufferedBytes` cuts it off at once; going over `maxBufferedBytes` starts the slow-client
 * clock, and a client still over it after `slowClientTimeoutMs` is cut off (see `checkSlow`).
 */
export class Outbound {
  constructor(
    private readonly name: string,
    private readonly options: ResolvedOptions,
    private readonly counters: Counters,
    private readonly logger: () => Logger | undefined,
  ) {}

  deliver(client: ClientState, message: OutgoingMessage): boolean {
    if (client.closed || client.serverReason !== undefined) return false;
    const data = message.get(client.format);
    const socket = client.socket;
    if (socket.readyState !== 1) return false;
    const o = this.options;
    const after = socket.bufferedAmount + data.length;
    if (after > o.hardMaxBufferedBytes) {
      this.cutSlow(client, `send buffer over hardMaxBufferedBytes (${o.hardMaxBufferedBytes})`);
      return false;
    }
    socket.send(data, { binary: client.format === 'msgpack' });
    this.counters.messagesOut++;
    this.counters.bytesOut += data.length;
    if (after > o.maxBufferedBytes) this.overSoftLimit(client);
    else client.overSince = undefined;
    return true;
  }

  /** Sends one message to each client; returns how many it was queued for. */
  deliverAll(clients: Iterable<ClientState>, topic: string, payload: unknown): number {
    const message = new OutgoingMessage(topic, payload);
    let sent = 0;
    for (const client of clients) if (this.deliver(client, message)) sent++;
    return sent;
  }

  /** An error message to a client, on topic `error`. */
  sendError(client: ClientState, text: string): void {
    this.deliver(client, new OutgoingMessage('error', text));
  }

  /** The send buffer went over `maxBufferedBytes`: start the clock unless it runs already. */
  private overSoftLimit(client: ClientState): void {
    if (client.overSince !== undefined) return;
    client.overSince = Date.now();
    client.slowTimer ??= setTimeout(() => this.checkSlow(client), this.options.slowClientTimeoutMs);
    if (!client.watchingDrain) {
      client.watchingDrain = true;
      client.transport.once('drain', () => {
        client.watchingDrain = false;
        if (client.socket.bufferedAmount <= this.options.maxBufferedBytes) client.overSince = undefined;
      });
    }
  }

  /** The slow-client clock ran out: cut the client off if its send buffer stayed over the limit all along. */
  private checkSlow(client: ClientState): void {
    client.slowTimer = undefined;
    if (client.closed) return;
    const o = this.options;
    if (client.socket.bufferedAmount <= o.maxBufferedBytes) {
      client.overSince = undefined;
      return;
    }
    // Over the limit now, but maybe only again since it last drained: give it the rest of its time.
    const since = (client.overSince ??= Date.now());
    const left = o.slowClientTimeoutMs - (Date.now() - since);
    if (left > 0) {
      client.slowTimer = setTimeout(() => this.checkSlow(client), left);
      return;
    }
    this.cutSlow(client, `send buffer over maxBufferedBytes (${o.maxBufferedBytes}) for ${o.slowClientTimeoutMs} ms`);
  }

  private cutSlow(client: ClientState, reason: string): void {
    this.counters.slowClientDisconnects++;
    this.logger()?.info(
      { plugin: this.name, client: client.id, buffered: client.socket.bufferedAmount, reason },
      'WebSocket client too slow, disconnected',
    );
    client.terminate(1008, reason);
  }
}
