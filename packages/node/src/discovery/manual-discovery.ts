import type { Logger } from '../logger.js';
import type { Discovery, Member, MemberRecord } from './discovery.js';
import { DiscoveryStateError, DiscoveryUnavailableError } from './discovery-errors.js';
import {
  assertOpen,
  checkMemberRecord,
  describedMember,
  type MemberDescription,
  MembershipView,
  plainMetadata,
  ViewDiscovery,
} from './membership.js';

/**
 * A member as `join()` and `change()` take it: a `Member`, or a description (`id` defaults to `name`,
 * else `host:port`; leave `name` out for a member known only by its address).
 */
export type ManualMember = MemberDescription;

export interface ManualDiscoveryOptions {
  /** Members the backend holds from the outset: listed (as `joined`) by the first `start()`. Default: none. */
  members?: readonly ManualMember[];
  /** Backend address named in the error of `degrade(reason)`. Default: `backend`. */
  target?: string;
  /** Logger for the degraded/recovered states and skipped records. Default: silent. */
  logger?: Logger;
}

/**
 * A `Discovery` whose backend the caller drives: members join, change and leave, and the backend
 * becomes unreachable and answers again, when the caller says so. For testing dial policies,
 * `connectTo`, dashboards and anything else that follows a node's membership.
 */
export interface ManualDiscovery extends Discovery {
  readonly kind: 'manual';
  /** The record the node announced (`start`/`update`); undefined before `start` and after `stop`. */
  readonly announced: MemberRecord | undefined;
  /**
   * Adds a member to the backend; a started discovery lists it and emits `joined` (a member with the
   * announced name, or without a name at the announced address, is this node and never listed).
   * Returns the member. Throws `DiscoveryStateError` when its id is taken or its host or port is invalid.
   */
  join(member: ManualMember): Member;
  /** Replaces a member of the backend (same id); a started discovery emits `changed` when anything differs. Throws `DiscoveryStateError` for an unknown id. */
  change(member: ManualMember): Member;
  /** Removes the member with this id (else the one with this name); a started discovery emits `left`. Throws `DiscoveryStateError` when there is none. */
  leave(idOrName: string): Member;
  /**
   * Makes the backend unreachable: a started discovery turns `degraded` and emits `degraded` (once per
   * outage) with a `DiscoveryUnavailableError` (`SYSTEMGE_ERR_DISCOVERY_UNAVAILABLE`); an error with that
   * code is reported as given, any other reason is wrapped (an `Error` as `cause`). The members stay and
   * `join`/`change`/`leave` still apply at once. Returns the reported error.
   */
  degrade(reason: string | Error): Error;
  /** Makes the backend answer again: a degraded discovery emits `recovered`. */
  recover(): void;
  /** Counts a backend record that was not taken as a member (`skipped()`), as the real backends do. */
  skip(reason: string, detail: string): void;
}

const UNAVAILABLE = DiscoveryUnavailableError.code;

function isUnavailable(error: Error): boolean {
  return (error as { code?: unknown }).code === UNAVAILABLE;
}

class ManualDiscoveryImpl extends ViewDiscovery implements ManualDiscovery {
  readonly kind = 'manual';
  /** What the backend holds, started or not. */
  private readonly backend = new Map<string, Member>();
  private outage: Error | undefined;
  private running = false;
  private self: MemberRecord | undefined;
  private readonly target: string;

  constructor(options: ManualDiscoveryOptions) {
    super(new MembershipView('manual', options.logger));
    this.target = options.target ?? 'backend';
    for (const member of options.members ?? []) this.join(member);
  }

  get announced(): MemberRecord | undefined {
    return this.self;
  }

  async start(self?: MemberRecord): Promise<void> {
    assertOpen(this.view, this.kind);
    if (self !== undefined) checkMemberRecord(self);
    if (this.running) throw new DiscoveryStateError('manual discovery is already started');
    this.running = true;
    this.self = copyRecord(self);
    this.view.setSelf(self);
    this.view.replaceAll(this.backend.values());
    if (this.outage !== undefined) this.view.markDegraded(this.outage);
    else this.view.markRecovered();
  }

  async update(self: MemberRecord): Promise<void> {
    checkMemberRecord(self);
    if (!this.running) throw new DiscoveryStateError('manual discovery is not started: update() needs start() first');
    if (this.self !== undefined && self.name !== this.self.name) {
      throw new DiscoveryStateError(`update() cannot rename "${this.self.name}" to "${self.name}"; stop and start again`);
    }
    this.self = copyRecord(self);
    this.view.setSelf(self);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.self = undefined;
    this.view.clear();
  }

  join(input: ManualMember): Member {
    this.assertDrivable('join');
    const member = memberOf(input);
    if (this.backend.has(member.id)) throw new DiscoveryStateError(`member "${member.id}" has already joined; use change() to replace it`);
    this.backend.set(member.id, member);
    if (this.running) this.view.upsert(member);
    return member;
  }

  change(input: ManualMember): Member {
    this.assertDrivable('change');
    const member = memberOf(input);
    if (!this.backend.has(member.id)) throw new DiscoveryStateError(`member "${member.id}" is not a member; use join() to add it`);
    this.backend.set(member.id, member);
    if (this.running) this.view.upsert(member);
    return member;
  }

  leave(idOrName: string): Member {
    this.assertDrivable('leave');
    const member = this.backend.get(idOrName) ?? [...this.backend.values()].find((m) => m.name === idOrName);
    if (member === undefined) throw new DiscoveryStateError(`no member has the id or name ${JSON.stringify(idOrName)}`);
    this.backend.delete(member.id);
    if (this.running) this.view.remove(member.id);
    return member;
  }

  degrade(reason: string | Error): Error {
    this.assertDrivable('degrade');
    const error =
      reason instanceof Error
        ? isUnavailable(reason)
          ? reason
          : new DiscoveryUnavailableError(this.kind, this.target, reason.message, { cause: reason })
        : new DiscoveryUnavailableError(this.kind, this.target, String(reason));
    this.outage = error;
    if (this.running) this.view.markDegraded(error);
    return error;
  }

  recover(): void {
    this.assertDrivable('recover');
    this.outage = undefined;
    if (this.running) this.view.markRecovered();
  }

  skip(reason: string, detail: string): void {
    this.assertDrivable('skip');
    this.view.skip(reason, detail);
  }

  private assertDrivable(method: string): void {
    if (this.view.closed) throw new DiscoveryStateError(`manual discovery is closed; ${method}() needs a new one`);
  }
}

function memberOf(input: ManualMember): Member {
  if (input === null || typeof input !== 'object') throw new DiscoveryStateError(`a member must be an object, not ${String(input)}`);
  const { host, port } = input;
  if (typeof host !== 'string' || host === '')
    throw new DiscoveryStateError(`member host ${JSON.stringify(host)} must be a non-empty string`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DiscoveryStateError(`member port of ${host} is ${String(port)}; must be an integer from 1 to 65535`);
  }
  for (const field of ['id', 'name', 'instance'] as const) {
    const value = input[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new DiscoveryStateError(`member ${field} ${JSON.stringify(value)} of ${host}:${port} must be a non-empty string`);
    }
  }
  return describedMember(input);
}

/** A copy, so what `announced` shows is what was announced then. */
function copyRecord(record: MemberRecord | undefined): MemberRecord | undefined {
  if (record === undefined) return undefined;
  return {
    ...record,
    ...(record.topics === undefined ? {} : { topics: [...record.topics] }),
    ...(record.metadata === undefined ? {} : { metadata: plainMetadata(record.metadata) }),
  };
}

/**
 * A discovery driven by hand, for tests: `join`, `change` and `leave` members, `degrade` and
 * `recover` the backend, and read what the node `announced`. It implements `Discovery` as the real
 * backends do (the member table, events and degraded state are the shared `MembershipView`): members
 * are listed between `start()` and `stop()`, `stop()` emits no `left`, `close()` ends every `events()`
 * iterator and a closed discovery cannot start again.
 */
export function manualDiscovery(options: ManualDiscoveryOptions = {}): ManualDiscovery {
  if (options === null || typeof options !== 'object') throw new DiscoveryStateError('manualDiscovery options must be an object');
  if (options.members !== undefined && !Array.isArray(options.members)) {
    throw new DiscoveryStateError('manualDiscovery members must be an array');
  }
  return new ManualDiscoveryImpl(options);
}
