import type { EndpointConfig } from '../config.js';
import type { NodeContext } from '../context.js';
import type { Discovery, Member, MemberRecord, MembershipEvent } from './discovery.js';
import { CONNECT_TO_ALL_KEY, type DialPolicy, type DialSelf, dialDecision, policyMetadata, RESERVED_METADATA_KEYS } from './dial-policy.js';
import { DiscoveryStateError } from './discovery-errors.js';

export { CONNECT_TO_ALL_KEY };

/** Which members a node dials: all of them, or those serving a topic it uses. */
export type ConnectTo = 'all' | { uses: readonly string[] };

/** `createNode(config, app, { discovery })`: where the node finds its peers. */
export interface NodeDiscoveryOptions {
  /** The membership source, e.g. `etcdDiscovery(...)`, `dnsDiscovery(...)`, `staticDiscovery(...)`. */
  source: Discovery;
  /**
   * Which members to dial. `'all'`: every member (a full mesh). `{ uses: [...] }`: members that
   * announce one of these topics (members whose topics the backend does not know, as with DNS,
   * are dialed too). Members that dial this node still connect. Default: the config's
   * `discovery.connectTo`, else `'all'`.
   */
  connectTo?: ConnectTo;
  /** Host other nodes dial. Default: the config's `discovery.advertiseHost`, else the listen host (required when listening on `0.0.0.0` or `::`). */
  advertiseHost?: string;
  /** Port other nodes dial. Default: the config's `discovery.advertisePort`, else the listen port. */
  advertisePort?: number;
  /** Metadata announced with this node (zone, version…). The keys `systemge.connectTo` and `systemge.uses` are the node's own (its dial policy). */
  metadata?: Readonly<Record<string, string>>;
}

/** A member as `node.discoveryState()` lists it. */
export interface DiscoveryMemberState {
  /** Key of the member in its discovery: its name where the backend knows it, else `host:port`. */
  id: string;
  /** Node name; null when the backend gives only an address (DNS) and no handshake told it yet. */
  name: string | null;
  host: string;
  port: number;
}

/** What a node knows through its discovery, as plain JSON-ready data (`node.discoveryState()`). */
export interface DiscoveryState {
  /** The source's kind: `static`, `etcd`, `dns`, … */
  kind: string;
  /** Members known now, this node excluded, sorted by id. */
  members: DiscoveryMemberState[];
  /** `members.length`. */
  memberCount: number;
  /** True while the backend is unreachable; the members are then the last ones known. */
  degraded: boolean;
  /** Why the discovery is degraded (the backend's error message); null when it is not. */
  degradedReason: string | null;
  /** Records the backend returned that were not taken as members: the total and the count per reason. */
  skipped: { total: number; byReason: Record<string, number> };
  /** When the members or the degraded state last changed (or the discovery started), epoch ms; null before the start. */
  changedAt: number | null;
}

/** What the mesh part needs from its neighbours. */
export interface MeshNeighbours {
  listener(): { host: string; port: number } | undefined;
  topics(): string[];
  /**
   * Dials with the node's backoff but no attempt limit, and redials after a loss, until `forget`:
   * the membership, not `connection.maxAttempts`, says when to stop (no `connect:gave-up` for a member
   * that crashed and whose lease has not run out yet, no pair left unconnected after a long outage).
   */
  connect(endpoint: EndpointConfig): Promise<unknown>;
  /** True when a ready peer of that name is connected (whichever side dialed). */
  isConnected(name: string): boolean;
  /** Stops dialing the endpoint and closes the connection it made, if any. */
  forget(endpoint: EndpointConfig, reason: string): Promise<void>;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * Acts on membership: announces this node and its dial policy through the discovery, dials the
 * members the `connectTo` policy selects (each pair from one side only when the member announces
 * its policy too: see `dialDecision`), stops dialing members that left and closes what it dialed to
 * them. Never dials this node itself (by name or instance id).
 */
export class DiscoveryMesh {
  private readonly dialed = new Map<string, EndpointConfig>();
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private announcePending = false;
  private readonly policy: DialPolicy;
  private announced = false;
  private degradedReason: string | undefined;
  private changedAt: number | undefined;

  constructor(
    private readonly ctx: NodeContext,
    private readonly options: NodeDiscoveryOptions,
    private readonly n: MeshNeighbours,
  ) {
    const connectTo = options.connectTo ?? ctx.config.discovery.connectTo ?? 'all';
    if (connectTo !== 'all' && (typeof connectTo !== 'object' || connectTo === null || !Array.isArray(connectTo.uses))) {
      throw new DiscoveryStateError(`discovery.connectTo must be 'all' or { uses: [...] }, not ${JSON.stringify(connectTo)}`);
    }
    this.policy = connectTo === 'all' ? { kind: 'all' } : { kind: 'uses', uses: new Set(connectTo.uses) };
  }

  /** The announcement: undefined when the node does not listen (it then only watches). */
  private record(): MemberRecord | undefined {
    const listener = this.n.listener();
    if (listener === undefined) return undefined;
    const host = this.options.advertiseHost ?? this.ctx.config.discovery.advertiseHost ?? listener.host;
    if (WILDCARD_HOSTS.has(host)) {
      throw new DiscoveryStateError(
        `node ${this.ctx.name} listens on ${listener.host}, which others cannot dial: set discovery.advertiseHost`,
      );
    }
    const metadata: Record<string, string> = { ...(this.options.metadata ?? {}) };
    for (const key of RESERVED_METADATA_KEYS) delete metadata[key];
    // The dial policy: members that know it leave the pair to one side (see dialDecision).
    Object.assign(metadata, policyMetadata(this.policy));
    return {
      name: this.ctx.name,
      instance: this.ctx.instance,
      host,
      port: this.options.advertisePort ?? this.ctx.config.discovery.advertisePort ?? listener.port,
      topics: this.n.topics(),
      metadata,
    };
  }

  async start(): Promise<void> {
    const record = this.record();
    this.unsubscribe = this.options.source.subscribe((event) => this.onEvent(event));
    // Members seen while the announcement goes out already count on it (they may dial this node).
    this.announced = record !== undefined;
    await this.options.source.start(record);
    this.started = true;
    this.changed();
    for (const member of this.options.source.members()) this.consider(member);
  }

  /**
   * The node's topics changed: announces them again (changes within one turn of the event loop go
   * out once) and reconsiders every member (which members dial this node depends on its topics).
   */
  topicsChanged(): void {
    if (!this.started || this.announcePending) return;
    this.announcePending = true;
    setImmediate(() => {
      this.announcePending = false;
      if (!this.started) return;
      const record = this.record();
      if (record === undefined) return;
      this.options.source.update(record).catch((error: unknown) => {
        this.ctx.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not announce the changed topics');
      });
      for (const member of this.options.source.members()) this.consider(member);
    });
  }

  async stop(): Promise<void> {
    this.started = false;
    this.announced = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    // Withdraws the announcement first: the others drop this node at once.
    await this.options.source.stop();
    this.dialed.clear();
    this.changed();
  }

  /** What the node knows through its discovery now. */
  state(): DiscoveryState {
    const source = this.options.source;
    const members = source
      .members()
      .map((m): DiscoveryMemberState => ({ id: m.id, name: m.name ?? null, host: m.host, port: m.port }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const skipped = source.skipped();
    const byReason = Object.create(null) as Record<string, number>;
    for (const [reason, count] of skipped.byReason) byReason[reason] = count;
    const degraded = source.degraded;
    return {
      kind: source.kind,
      members,
      memberCount: members.length,
      degraded,
      degradedReason: degraded ? (this.degradedReason ?? `${source.kind} backend unreachable`) : null,
      skipped: { total: skipped.total, byReason },
      changedAt: this.changedAt ?? null,
    };
  }

  /** Notes the time of a change and tells the node's listeners (`discovery:changed`). */
  private changed(): void {
    this.changedAt = this.ctx.clock.now();
    this.ctx.emit('discovery:changed', this.state());
  }

  private onEvent(event: MembershipEvent): void {
    this.onMembership(event);
    if (event.type === 'degraded') this.degradedReason = event.error.message;
    if (event.type === 'recovered') this.degradedReason = undefined;
    this.changed();
  }

  private onMembership(event: MembershipEvent): void {
    switch (event.type) {
      case 'joined':
        this.consider(event.member);
        break;
      case 'changed':
        if (event.previous.host !== event.member.host || event.previous.port !== event.member.port) {
          this.drop(event.previous, 'its address changed');
        } else if (this.decide(event.member) === 'none') {
          // Neither side wants the pair any more. When only the side changed that should dial it,
          // the connection this node made stays (closing it could leave the pair unconnected).
          this.drop(event.previous, 'neither side uses the other');
        }
        this.consider(event.member);
        break;
      case 'left':
        this.drop(event.member, 'it left the membership');
        break;
      case 'degraded':
        this.ctx.logger.warn({ err: event.error }, 'discovery degraded; keeping the current connections');
        break;
      case 'recovered':
        this.ctx.logger.info('discovery recovered');
        break;
    }
  }

  /** Who dials the pair of this node and `member` (see `dialDecision`). */
  private decide(member: Member): ReturnType<typeof dialDecision> {
    const self: DialSelf = {
      name: this.ctx.name,
      instance: this.ctx.instance,
      policy: this.policy,
      topics: this.n.topics(),
      announced: this.announced,
    };
    return dialDecision(self, member);
  }

  /** True when the policy selects the member and this side is the one to dial it. */
  wants(member: Member): boolean {
    return this.decide(member) === 'dial';
  }

  private consider(member: Member): void {
    if (!this.wants(member) || this.dialed.has(member.id)) return;
    if (member.name !== undefined && this.n.isConnected(member.name)) return;
    const endpoint: EndpointConfig = { host: member.host, port: member.port, ...(member.name === undefined ? {} : { name: member.name }) };
    this.dialed.set(member.id, endpoint);
    this.n.connect(endpoint).catch((error: unknown) => {
      // Forgotten (the member left or changed address): nothing failed.
      if (this.dialed.get(member.id) !== endpoint) return;
      this.dialed.delete(member.id);
      const status = this.ctx.status();
      if (status === 'stopping' || status === 'stopped') return;
      // Only refusals another attempt cannot change end a member's dial (auth, duplicate name, self-dial).
      this.ctx.logger.warn(
        { member: member.id, err: error instanceof Error ? error.message : String(error) },
        'could not connect to a discovered member',
      );
    });
  }

  private drop(member: Member, why: string): void {
    const endpoint = this.dialed.get(member.id);
    if (endpoint === undefined) return;
    this.dialed.delete(member.id);
    void this.n.forget(endpoint, `member ${member.id} dropped: ${why}`).catch(() => {});
  }
}
