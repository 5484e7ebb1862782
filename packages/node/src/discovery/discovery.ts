/**
 * Discovery: where a node learns which other nodes exist and how to dial them, and where it
 * announces itself. Implementations (static endpoints, etcd, DNS) differ only in the backend;
 * they share `MembershipView` for the member table, the events and the degraded state.
 */

/** What a node announces about itself. */
export interface MemberRecord {
  /** Node name, unique in the cluster. */
  name: string;
  /** Random id of this node process (the handshake's `instance`); tells a restart from the same process. */
  instance?: string;
  /** Host or IP address other nodes dial. */
  host: string;
  /** Port other nodes dial. */
  port: number;
  /** Topics the node handles (async and sync). Default: none. */
  topics?: readonly string[];
  /** Free-form string metadata (zone, version, …). Default: none. */
  metadata?: Readonly<Record<string, string>>;
}

/** A member as discovery knows it. */
export interface Member {
  /** Key of the member in its discovery: the name where the backend knows it, else `host:port`. */
  id: string;
  /** Node name; `undefined` when the backend gives only an address (DNS): the handshake tells it. */
  name: string | undefined;
  instance: string | undefined;
  host: string;
  port: number;
  topics: readonly string[];
  metadata: Readonly<Record<string, string>>;
}

/** A change of membership or of the backend's reachability. */
export type MembershipEvent =
  | { type: 'joined'; member: Member }
  | { type: 'changed'; member: Member; previous: Member }
  | { type: 'left'; member: Member }
  /** The backend cannot be reached; the member list is the last one known. `error.code` is `SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE`. */
  | { type: 'degraded'; error: Error }
  /** The backend answers again after `degraded`; the joined/changed/left events for what changed meanwhile come just before it. */
  | { type: 'recovered' };

export type MembershipListener = (event: MembershipEvent) => void;

/** Why a backend record was not taken as a member, with how many were skipped for it. */
export interface SkippedRecords {
  /** Records skipped since start, by reason (`malformed-json`, `foreign-prefix`, `invalid-port`, …). */
  byReason: ReadonlyMap<string, number>;
  total: number;
}

/** A membership source. One instance serves one node. */
export interface Discovery {
  /** Short backend name for logs: `static`, `etcd`, `dns`. */
  readonly kind: string;
  /**
   * Starts watching membership and, when `self` is given, announces it. Resolves once the first
   * member list is known or the backend was found unreachable (then `degraded` is true and the
   * discovery keeps retrying); rejects only for invalid arguments or after `close()`.
   */
  start(self?: MemberRecord): Promise<void>;
  /** Replaces the announcement of a started discovery (the node's topics or metadata changed); members see `changed`. */
  update(self: MemberRecord): Promise<void>;
  /** Withdraws the announcement at once and stops watching; `left` is not emitted for the known members. `start` may be called again. */
  stop(): Promise<void>;
  /** `stop()`, then ends every `events()` iterator; the discovery cannot start again. */
  close(): Promise<void>;
  /** The members known now, this node excluded. */
  members(): Member[];
  /** True while the backend is unreachable. */
  readonly degraded: boolean;
  /** Records the backend returned that were not taken as members. */
  skipped(): SkippedRecords;
  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  subscribe(listener: MembershipListener): () => void;
  /** The events from now on, as an async iterator; ends on `close()` or when `signal` aborts. */
  events(signal?: AbortSignal): AsyncIterableIterator<MembershipEvent>;
}
