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
}
