import type { Logger } from '../logger.js';
import type { Discovery, Member, MemberRecord } from './discovery.js';
import { DiscoveryStateError } from './discovery-errors.js';
import { assertOpen, checkMemberRecord, describedMember, MembershipView, ViewDiscovery } from './membership.js';

/** A fixed member, as a config's endpoint list gives it. */
export interface StaticMember {
  host: string;
  port: number;
  /** Node name, when known; else the handshake tells it. */
  name?: string;
  topics?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
}

export interface StaticDiscoveryOptions {
  /** The members, this node's own entry included or not (it is left out either way). */
  members: readonly StaticMember[];
  /** Logger for skipped entries. Default: silent. */
  logger?: Logger;
}

class StaticDiscovery extends ViewDiscovery {
  readonly kind = 'static';
  private readonly entries: Member[] = [];

  constructor(options: StaticDiscoveryOptions) {
    super(new MembershipView('static', options.logger));
    const seen = new Set<string>();
    for (const [index, entry] of options.members.entries()) {
      const where = `members[${index}]`;
      if (typeof entry.host !== 'string' || entry.host === '') {
        this.view.skip('invalid-host', `${where}: host ${JSON.stringify(entry.host)} is not a non-empty string`);
      } else if (!Number.isInteger(entry.port) || entry.port < 1 || entry.port > 65535) {
        this.view.skip('invalid-port', `${where}: port ${String(entry.port)} is not an integer from 1 to 65535`);
      } else {
        const member = describedMember(entry);
        if (seen.has(member.id)) {
          this.view.skip('duplicate', `${where}: ${member.id} is listed twice`);
        } else {
          seen.add(member.id);
          this.entries.push(member);
        }
      }
    }
  }

  async start(self?: MemberRecord): Promise<void> {
    assertOpen(this.view, this.kind);
    if (self !== undefined) checkMemberRecord(self);
    this.view.setSelf(self);
    this.view.replaceAll(this.entries);
  }

  async update(self: MemberRecord): Promise<void> {
    checkMemberRecord(self);
    this.view.setSelf(self);
  }

  async stop(): Promise<void> {
    this.view.clear();
  }
}

/**
 * Discovery from a fixed list (the endpoints of today's configs): every entry is a member from
 * `start()` on, never degraded. Entries without a valid host or port are skipped and counted.
 */
export function staticDiscovery(options: StaticDiscoveryOptions): Discovery {
  if (options === null || typeof options !== 'object' || !Array.isArray(options.members)) {
    throw new DiscoveryStateError('staticDiscovery needs { members: [...] }');
  }
  return new StaticDiscovery(options);
}
