import type { PluginMetric } from '@systemge/node';

/** Counters exposed by `getStats()`. */
export class Counters {
  connections = 0;
  messagesIn = 0;
  bytesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  rateLimited = 0;
  slowClientDisconnects = 0;
  deadClientDisconnects = 0;
  oversizeMessages = 0;
  invalidMessages = 0;
  unknownTopics = 0;
  handlerErrors = 0;
  refusedOrigin = 0;
  refusedFull = 0;

  /** The `getStats()` keys, with the current client and group counts. */
  snapshot(clients: number, groups: number): Record<string, number> {
    return {
      clients,
      groups,
      connections_total: this.connections,
      messages_in_total: this.messagesIn,
      bytes_in_total: this.bytesIn,
      messages_out_total: this.messagesOut,
      bytes_out_total: this.bytesOut,
      rate_limited_total: this.rateLimited,
      slow_client_disconnects_total: this.slowClientDisconnects,
      dead_client_disconnects_total: this.deadClientDisconnects,
      oversize_messages_total: this.oversizeMessages,
      invalid_messages_total: this.invalidMessages,
      unknown_topics_total: this.unknownTopics,
      handler_errors_total: this.handlerErrors,
      refused_origin_total: this.refusedOrigin,
      refused_full_total: this.refusedFull,
    };
  }

  /** The same figures as labelled samples: `websocket_<key>` (counters end in `_total`). */
  metrics(clients: number, groups: number): PluginMetric[] {
    const out: PluginMetric[] = [];
    for (const [key, value] of Object.entries(this.snapshot(clients, groups))) {
      const counter = key.endsWith('_total');
      out.push({ name: `websocket_${key}`, help: METRIC_HELP[key] ?? key, type: counter ? 'counter' : 'gauge', value });
    }
    return out;
  }
}

const METRIC_HELP: Readonly<Record<string, string>> = {
  clients: 'WebSocket clients connected now.',
  groups: 'WebSocket groups with at least one client now.',
  connections_total: 'WebSocket connections accepted.',
  messages_in_total: 'Messages received from WebSocket clients.',
  bytes_in_total: 'Bytes received from WebSocket clients.',
  messages_out_total: 'Messages sent to WebSocket clients.',
  bytes_out_total: 'Bytes sent to WebSocket clients.',
  rate_limited_total: 'Client messages over the rate limit.',
  slow_client_disconnects_total: 'Clients disconnected for falling behind.',
  dead_client_disconnects_total: 'Clients disconnected for not answering pings.',
  oversize_messages_total: 'Client messages over the size limit.',
  invalid_messages_total: 'Client messages that could not be decoded.',
  unknown_topics_total: 'Client messages for a topic without a handler.',
  handler_errors_total: 'WebSocket message handlers that threw.',
  refused_origin_total: 'Connections refused for their origin.',
  refused_full_total: 'Connections refused because the client limit was reached.',
};
