import { SystemgeError, type SystemgeErrorOptions } from '@systemge/protocol';

/**
 * The discovery backend (etcd, a DNS server) cannot be reached or refused the request. Reported in
 * the `degraded` event, never thrown at the node: the discovery keeps retrying and the known
 * members and open connections stay.
 */
export class DiscoveryUnavailableError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE';
  /** Backend kind, e.g. `etcd`. */
  readonly kind: string;
  /** The address tried last, e.g. `http://127.0.0.1:2379` or `127.0.0.1:53`. */
  readonly target: string;
  constructor(kind: string, target: string, detail: string, options?: SystemgeErrorOptions) {
    super(DiscoveryUnavailableError.code, `${kind} discovery at ${target} unavailable: ${detail}`, options);
    this.kind = kind;
    this.target = target;
  }
}

/** `start()` was called on a closed discovery, or with an invalid announcement. */
export class DiscoveryStateError extends SystemgeError {
  static readonly code = 'SYSTEMGE_ERR_DISCOVERY_STATE';
  constructor(message: string) {
    super(DiscoveryStateError.code, message);
  }
}
