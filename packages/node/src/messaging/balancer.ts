/**
 * Picks one peer of several for a balanced request or message. Pure: the candidates, the open
 * request counts and the random source are given, so every strategy is tested on plain inputs.
 */

/** How `node.request()` and a balanced `asyncMessage` pick one of the peers that handle a topic. */
export type BalanceStrategy = 'round-robin' | 'random' | 'least-pending' | 'key';

export const BALANCE_STRATEGIES: readonly BalanceStrategy[] = ['round-robin', 'random', 'least-pending', 'key'];

/** What a pick needs to know about a candidate. */
export interface Candidate {
  readonly name: string;
}

/** One pick: the strategy, the key for `key`, and candidates to leave out (peers already tried). */
export interface PickRequest {
  strategy: BalanceStrategy;
  key?: string | undefined;
  exclude?: ReadonlySet<string> | undefined;
  /** An async message: its round-robin position is kept apart from the sync topic of the same name. */
  async?: boolean | undefined;
}

/** 32-bit FNV-1a over the UTF-16 code units of `a`, a separator and `b`, then a murmur3 finaliser. */
export function rendezvousScore(key: string, name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A separator no name or key ends with on purpose: ("ab","c") and ("a","bc") hash differently.
  h ^= 0xffff;
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Strategy state of one node: the round-robin position per topic. `pending` gives the sync requests
 * this node has open to a peer name (for `least-pending`; the node passes its pending sync requests'
 * per-peer counts, see `SyncRequests.pendingTo`), `random` the random source; both are injected for tests.
 */
export class Balancer {
  private readonly cursors = new Map<string, number>();
  private readonly asyncCursors = new Map<string, number>();
  private readonly random: () => number;
  /** Requests this node has open to `name` (sent to it, not answered by it, not settled). */
  readonly pending: (name: string) => number;

  constructor(random: () => number = Math.random, pending: (name: string) => number = () => 0) {
    this.random = random;
    this.pending = pending;
  }

  /**
   * One of `candidates` for `topic`, or undefined when every candidate is excluded. Candidates are
   * in route order (the order peers announced the topic); the pick does not change the array.
   */
  pick<C extends Candidate>(topic: string, candidates: readonly C[], request: PickRequest): C | undefined {
    const exclude = request.exclude;
    const usable = exclude === undefined || exclude.size === 0 ? candidates : candidates.filter((c) => !exclude.has(c.name));
    const n = usable.length;
    if (n === 0) return undefined;
    if (n === 1) {
      if (request.strategy === 'round-robin' || request.strategy === 'least-pending') this.advance(topic, request.async);
      return usable[0];
    }
    switch (request.strategy) {
      case 'random':
        return usable[Math.min(n - 1, Math.floor(this.random() * n))];
      case 'key':
        return this.byKey(usable, request.key ?? '');
      case 'least-pending':
        return this.leastPending(this.advance(topic, request.async), usable);
      default:
        return usable[this.advance(topic, request.async) % n];
    }
  }

  /** The next round-robin position of `topic` (before moving it on). */
  private advance(topic: string, async: boolean | undefined): number {
    const cursors = async === true ? this.asyncCursors : this.cursors;
    const at = cursors.get(topic) ?? 0;
    cursors.set(topic, at + 1 >= 0x7fffffff ? 0 : at + 1);
    return at;
  }

  /** Fewest open requests; ties are taken in round-robin order, so equal peers share evenly. */
  private leastPending<C extends Candidate>(position: number, usable: readonly C[]): C {
    const n = usable.length;
    const start = position % n;
    let best = usable[start] as C;
    let bestOpen = this.pending(best.name);
    for (let i = 1; i < n && bestOpen > 0; i++) {
      const c = usable[(start + i) % n] as C;
      const open = this.pending(c.name);
      if (open < bestOpen) {
        best = c;
        bestOpen = open;
      }
    }
    return best;
  }

  /** Rendezvous (highest random weight) hashing: removing a peer moves only the keys it had. */
  private byKey<C extends Candidate>(usable: readonly C[], key: string): C {
    let best = usable[0] as C;
    let bestScore = rendezvousScore(key, best.name);
    for (let i = 1; i < usable.length; i++) {
      const c = usable[i] as C;
      const score = rendezvousScore(key, c.name);
      if (score > bestScore || (score === bestScore && c.name < best.name)) {
        best = c;
        bestScore = score;
      }
    }
    return best;
  }
}
