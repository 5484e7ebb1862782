/** Topics up to this many bytes are cached; longer ones are decoded every time. */
export const TOPIC_CACHE_BYTES = 128;
/** Entries of the topic cache, a power of two. */
export const TOPIC_CACHE_ENTRIES = 256;

/**
 * Strings of recently decoded topics, so a topic that repeats is neither validated nor decoded
 * again, and no string is allocated for it. Direct-mapped by a hash of the bytes: its size is
 * fixed (`TOPIC_CACHE_ENTRIES` × `TOPIC_CACHE_BYTES` bytes plus as many strings), whatever peers
 * send. An entry is returned only after its bytes compare equal to the topic's, so a hash
 * collision costs a miss, never a wrong topic. Only valid UTF-8 topics are stored (by the caller).
 */
export class TopicCache {
  private readonly bytes = Buffer.alloc(TOPIC_CACHE_ENTRIES * TOPIC_CACHE_BYTES);
  /** Byte length of each entry; 0 for an empty entry (topics are never empty). */
  private readonly lengths = new Uint8Array(TOPIC_CACHE_ENTRIES);
  private readonly strings: string[] = new Array<string>(TOPIC_CACHE_ENTRIES).fill('');

  /** The entry `buf[start, end)` maps to. */
  static slot(buf: Uint8Array, start: number, end: number): number {
    // FNV-1a, folded to the table size.
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    return (h ^ (h >>> 16)) & (TOPIC_CACHE_ENTRIES - 1);
  }

  /** True when entry `slot` holds exactly the bytes `buf[start, end)`. */
  matches(slot: number, buf: Uint8Array, start: number, end: number): boolean {
    const len = end - start;
    if (this.lengths[slot] !== len) return false;
    const bytes = this.bytes;
    const base = slot * TOPIC_CACHE_BYTES - start;
    for (let i = start; i < end; i++) if (buf[i] !== bytes[base + i]) return false;
    return true;
  }

  /** The string of entry `slot` (check `matches` first). */
  string(slot: number): string {
    return this.strings[slot] as string;
  }

  /** Stores `topic`, the decoding of the valid UTF-8 bytes `buf[start, end)`, in entry `slot`. No-op for a topic too long to cache. */
  store(slot: number, buf: Uint8Array, start: number, end: number, topic: string): void {
    const len = end - start;
    if (len > TOPIC_CACHE_BYTES || len === 0) return;
    const bytes = this.bytes;
    // A byte loop: Buffer#copy of a range would allocate a view, the very cost this cache saves.
    const base = slot * TOPIC_CACHE_BYTES - start;
    for (let i = start; i < end; i++) bytes[base + i] = buf[i] as number;
    this.lengths[slot] = len;
    this.strings[slot] = topic;
  }

  /** Entries in use (for tests). */
  get size(): number {
    let n = 0;
    for (const len of this.lengths) if (len > 0) n++;
    return n;
  }
}
