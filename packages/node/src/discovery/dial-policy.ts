import type { Member } from './discovery.js';

/**
 * Metadata key announcing a member's dial policy: `all` (it dials every member) or `uses` (it dials
 * the members serving a topic listed under `USES_KEY`). A member without it announces nothing: it
 * may dial anyone its own policy selects.
 */
export const CONNECT_TO_ALL_KEY = 'systemge.connectTo';

/** Metadata key listing, as a JSON array of strings, the topics a `uses` member dials for. */
export const USES_KEY = 'systemge.uses';

/** Metadata keys the node writes itself; an application's metadata cannot set them. */
export const RESERVED_METADATA_KEYS: readonly string[] = [CONNECT_TO_ALL_KEY, USES_KEY];

/** A dial policy: every member, or the members serving one of `uses`. */
export type DialPolicy = { kind: 'all' } | { kind: 'uses'; uses: ReadonlySet<string> };

/** The metadata announcing `policy` (added to the member record). */
export function policyMetadata(policy: DialPolicy): Record<string, string> {
  if (policy.kind === 'all') return { [CONNECT_TO_ALL_KEY]: 'all' };
  return { [CONNECT_TO_ALL_KEY]: 'uses', [USES_KEY]: JSON.stringify([...policy.uses].sort()) };
}

/**
 * The policy a member announces in its metadata; undefined when it announces none or one this node
 * cannot read (an older member, a backend without metadata such as DNS, a malformed value).
 */
export function announcedPolicy(metadata: Readonly<Record<string, string>>): DialPolicy | undefined {
  if (!Object.hasOwn(metadata, CONNECT_TO_ALL_KEY)) return undefined;
  const connectTo = metadata[CONNECT_TO_ALL_KEY];
  if (connectTo === 'all') return { kind: 'all' };
  if (connectTo !== 'uses' || !Object.hasOwn(metadata, USES_KEY)) return undefined;
  let uses: unknown;
  try {
    uses = JSON.parse(metadata[USES_KEY] as string);
  } catch {
    return undefined;
  }
  if (!Array.isArray(uses) || !uses.every((t) => typeof t === 'string')) return undefined;
  return { kind: 'uses', uses: new Set(uses as string[]) };
}

/** True when `policy` selects a node serving `topics` (`undefined`: topics unknown, as with DNS, which is selected). */
export function policySelects(policy: DialPolicy, topics: readonly string[] | undefined): boolean {
  if (policy.kind === 'all' || topics === undefined) return true;
  return topics.some((t) => policy.uses.has(t));
}

/** This node, as the dial decision sees it. */
export interface DialSelf {
  name: string;
  instance: string | undefined;
  policy: DialPolicy;
  /** The topics this node serves (what the members' `uses` policies select it by). */
  topics: readonly string[];
  /** True when this node announced itself (it listens): members know it and may dial it. */
  announced: boolean;
}

/** What the dial decision says about one member. */
export type DialDecision =
  /** This side dials the member. */
  | 'dial'
  /** Both sides want the pair, and the member dials it (its name sorts first). */
  | 'peer-dials'
  /** Only the member wants the pair: it dials. */
  | 'peer-uses'
  /** Neither side wants the pair. */
  | 'none'
  /** The member is this node (same name or instance). */
  | 'self';

/**
 * Who dials the pair of this node and `member`, decided the same way on both sides from what each
 * announces, so each pair is dialed once:
 * - both would dial each other: the one whose name sorts first dials;
 * - only one side's policy selects the other: that side dials;
 * - the member announces no policy (older member, DNS record without metadata) or this node is not
 *   announced: this side dials when its policy selects the member (both may dial; the
 *   one-connection-per-pair rule keeps one connection).
 */
export function dialDecision(self: DialSelf, member: Member): DialDecision {
  if (member.name === self.name || (member.instance !== undefined && member.instance === self.instance)) return 'self';
  // Backends that give only an address (DNS) do not know the member's topics or policy.
  const selfWants = policySelects(self.policy, member.name === undefined ? undefined : member.topics);
  const theirs = member.name === undefined || !self.announced ? undefined : announcedPolicy(member.metadata);
  if (theirs === undefined) return selfWants ? 'dial' : 'none';
  const theyWant = policySelects(theirs, self.topics);
  if (selfWants && theyWant) return self.name < (member.name as string) ? 'dial' : 'peer-dials';
  if (selfWants) return 'dial';
  return theyWant ? 'peer-uses' : 'none';
}
