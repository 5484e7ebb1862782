import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { Discovery, Member, MemberRecord, MembershipEvent, MembershipListener, SkippedRecords } from './discovery.js';
import { DiscoveryStateError } from './discovery-errors.js';

/** Checks an announcement; throws DiscoveryStateError naming the bad field. */
export function checkMemberRecord(self: MemberRecord): void {
  if (typeof self.name !== 'string' || self.name === '') throw new DiscoveryStateError('announced name must be a non-empty string');
  if (typeof self.host !== 'string' || self.host === '')
    throw new DiscoveryStateError(`announced host of "${self.name}" must be a non-empty string`);
  if (!Number.isInteger(self.port) || self.port < 1 || self.port > 65535) {
    throw new DiscoveryStateError(`announced port of "${self.name}" is ${String(self.port)}; must be an integer from 1 to 65535`);
  }
}

/**
 * Whether a member's record is unchanged: name, instance, host, port, topics (in order) and
 * metadata (as a set of key/value pairs) all equal. The id is the table key, so it is equal by lookup.
 */
function sameMember(a: Member, b: Member): boolean {
  if (a.name !== b.name || a.instance !== b.instance || a.host !== b.host || a.port !== b.port) return false;
  if (a.topics.length !== b.topics.length || a.topics.some((t, i) => t !== b.topics[i])) return false;
  const ak = Object.keys(a.metadata);
  const bk = Object.keys(b.metadata);
  return ak.length === bk.length && ak.every((k) => Object.hasOwn(b.metadata, k) && a.metadata[k] === b.metadata[k]);
}

/**
 * The member table every discovery keeps: turns backend snapshots and updates into
 * joined/changed/left events, tracks the degraded state, counts skipped records and
 * leaves this node itself out. Backends feed it; listeners and iterators read it.
 */
export class MembershipView {
  private readonly table = new Map<string, Member>();
  private readonly listeners = new Set<MembershipListener>();
  private readonly skippedCounts = new Map<string, number>();
  private skippedTotal = 0;
  private degradedError: Error | undefined;
  private self: MemberRecord | undefined;
  private readonly enders = new Set<() => void>();
  private ended = false;

  constructor(
    private readonly kind: string,
    private readonly logger: Logger = silentLogger,
  ) {}

  get degraded(): boolean {
    return this.degradedError !== undefined;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** The node's own announcement: members with its name (or its address) are never listed. */
  setSelf(self: MemberRecord | undefined): void {
    this.self = self;
    if (self !== undefined) for (const member of [...this.table.values()]) if (this.isSelf(member)) this.table.delete(member.id);
  }

  isSelf(member: Member): boolean {
    const self = this.self;
    if (self === undefined) return false;
    if (member.name !== undefined) return member.name === self.name;
    return member.host === self.host && member.port === self.port;
  }

  members(): Member[] {
    return [...this.table.values()];
  }

  get(id: string): Member | undefined {
    return this.table.get(id);
  }

  /** One member added or updated (a watch event): `joined` for a new id, `changed` when a field differs, else nothing. */
  upsert(member: Member): void {
    if (this.isSelf(member)) return;
    const previous = this.table.get(member.id);
    if (previous !== undefined && sameMember(previous, member)) return;
    this.table.set(member.id, member);
    this.emit(previous === undefined ? { type: 'joined', member } : { type: 'changed', member, previous });
  }

  /** One member gone (a watch event): `left` if it was listed, else nothing. */
  remove(id: string): void {
    const member = this.table.get(id);
    if (member === undefined) return;
    this.table.delete(id);
    this.emit({ type: 'left', member });
  }

  /**
   * Makes the table equal to `members` (a full snapshot), emitting the differences; every
   * backend's list goes through here. Members are keyed by `id`: when an id occurs more than
   * once, its last record is taken, at the place of its first. This node itself is left out.
   * Events, in this order:
   * 1. `left` for every listed member whose id the snapshot lacks, in the order they joined;
   * 2. `joined` (new id) or `changed` (a field differs; see `sameMember`) in snapshot order.
   * A member whose record is unchanged gives no event.
   */
  replaceAll(members: Iterable<Member>): void {
    const next = new Map<string, Member>();
    for (const member of members) if (!this.isSelf(member)) next.set(member.id, member);
    for (const id of [...this.table.keys()]) if (!next.has(id)) this.remove(id);
    for (const member of next.values()) this.upsert(member);
  }

  /** Forgets every member without events (on stop). */
  clear(): void {
    this.table.clear();
  }

  markDegraded(error: Error): void {
    const first = this.degradedError === undefined;
    this.degradedError = error;
    if (!first) return;
    this.logger.warn({ err: error, discovery: this.kind }, `${this.kind} discovery degraded: ${error.message}`);
    this.emit({ type: 'degraded', error });
  }

  markRecovered(): void {
    if (this.degradedError === undefined) return;
    this.degradedError = undefined;
    this.logger.info({ discovery: this.kind }, `${this.kind} discovery recovered`);
    this.emit({ type: 'recovered' });
  }

  /** Counts and logs a backend record that is not taken as a member. */
  skip(reason: string, detail: string): void {
    this.skippedCounts.set(reason, (this.skippedCounts.get(reason) ?? 0) + 1);
    this.skippedTotal += 1;
    this.logger.warn({ discovery: this.kind, reason }, `${this.kind} discovery skipped a record (${reason}): ${detail}`);
  }

  skipped(): SkippedRecords {
    return { byReason: new Map(this.skippedCounts), total: this.skippedTotal };
  }

  subscribe(listener: MembershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: MembershipEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error, discovery: this.kind }, `${this.kind} discovery listener threw on ${event.type}`);
      }
    }
  }

  /** Ends every iterator from `events()`; later calls return finished iterators. */
  end(): void {
    this.ended = true;
    for (const end of [...this.enders]) end();
  }

  events(signal?: AbortSignal): AsyncIterableIterator<MembershipEvent> {
    const queue: MembershipEvent[] = [];
    let wake: ((result: IteratorResult<MembershipEvent>) => void) | undefined;
    let done = this.ended || signal?.aborted === true;
    const finish = (): void => {
      if (done) return;
      done = true;
      unsubscribe();
      this.enders.delete(finish);
      signal?.removeEventListener('abort', finish);
      const w = wake;
      wake = undefined;
      w?.({ value: undefined, done: true });
    };
    const unsubscribe = done
      ? () => {}
      : this.subscribe((event) => {
          const w = wake;
          if (w !== undefined) {
            wake = undefined;
            w({ value: event, done: false });
          } else {
            queue.push(event);
          }
        });
    if (!done) {
      this.enders.add(finish);
      signal?.addEventListener('abort', finish, { once: true });
    }
    const iterator: AsyncIterableIterator<MembershipEvent> = {
      next: () => {
        const event = queue.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          wake = resolve;
        });
      },
      return: () => {
        queue.length = 0;
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/** A Member from an announcement, keyed by name. */
export function memberFromRecord(record: MemberRecord): Member {
  return describedMember(record);
}

/** What a member can be described by: an announcement, a static entry, a test's member. */
export interface MemberDescription {
  /** Default: `name`, else `host:port` (as a backend that knows only addresses keys a member). */
  id?: string | undefined;
  /** Node name; undefined for a member known only by its address (the handshake tells the name). */
  name?: string | undefined;
  instance?: string | undefined;
  host: string;
  port: number;
  /** Default: none. */
  topics?: readonly string[] | undefined;
  /** Default: none. */
  metadata?: Readonly<Record<string, string>> | undefined;
}

/** The `Member` a description gives: its own copies of topics and (null-prototype) metadata. */
export function describedMember(d: MemberDescription): Member {
  return {
    id: d.id ?? d.name ?? `${d.host}:${d.port}`,
    name: d.name,
    instance: d.instance,
    host: d.host,
    port: d.port,
    topics: [...(d.topics ?? [])],
    metadata: plainMetadata(d.metadata),
  };
}

/** A null-prototype copy of string metadata (lookups never reach Object.prototype). */
export function plainMetadata(metadata: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (metadata !== undefined) for (const key of Object.keys(metadata)) out[key] = metadata[key] as string;
  return out;
}

/** Rejects start() on a closed discovery. */
export function assertOpen(view: MembershipView, kind: string): void {
  if (view.closed) throw new DiscoveryStateError(`${kind} discovery is closed; create a new one`);
}

/**
 * What every discovery built on a `MembershipView` answers the same way: `degraded`, `members()`,
 * `skipped()`, `subscribe()`, `events()`, and `close()` (`stop()`, then the end of every `events()`
 * iterator). A source extends it with its `kind`, `start`, `update` and `stop`, and feeds `view`.
 */
export abstract class ViewDiscovery implements Discovery {
  abstract readonly kind: string;
  protected readonly view: MembershipView;

  constructor(view: MembershipView) {
    this.view = view;
  }

  abstract start(self?: MemberRecord): Promise<void>;
  abstract update(self: MemberRecord): Promise<void>;
  abstract stop(): Promise<void>;

  get degraded(): boolean {
    return this.view.degraded;
  }

  async close(): Promise<void> {
    await this.stop();
    this.view.end();
  }

  members(): Member[] {
    return this.view.members();
  }

  skipped(): SkippedRecords {
    return this.view.skipped();
  }

  subscribe(listener: MembershipListener): () => void {
    return this.view.subscribe(listener);
  }

  events(signal?: AbortSignal): AsyncIterableIterator<MembershipEvent> {
    return this.view.events(signal);
  }
}
