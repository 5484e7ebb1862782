import type { TopicSet } from '@systemge/protocol';

/**
 * Topic bytes a handshake carries when the receiver's first-frame cap is unknown (the dialer's
 * handshake): half of the smallest `maxHandshakeFrameBytes` a node may configure (16 KiB), so the
 * handshake fits any peer. Topics beyond it follow in topic frames right after the handshake.
 */
export const HANDSHAKE_TOPIC_BYTES = 8 * 1024;
/** Topic bytes per topic frame that carries what did not fit in the handshake. */
export const TOPIC_FRAME_BYTES = 8 * 1024;

/** msgpack overhead of one string in a list, upper bound. */
const ENTRY_OVERHEAD = 5;

export interface TopicSplit {
  /** What goes in the handshake. */
  first: TopicSet;
  /** Topic frames to send once the handshake is done, in order. */
  rest: TopicSet[];
  /** Topics the peer's `maxTopicBytes` refuses: never announced to it, with their size. */
  tooLarge: { topic: string; bytes: number }[];
}

/**
 * Splits the topics a node announces: topics over the peer's `maxTopicBytes` are left out, the first
 * `budget` bytes go in the handshake, the rest in topic frames of at most TOPIC_FRAME_BYTES each.
 */
export function splitTopics(
  asyncTopics: Iterable<string>,
  syncTopics: Iterable<string>,
  maxTopicBytes: number,
  budget: number,
  /** Topics already announced (in the handshake): only checked against `maxTopicBytes`. */
  announced?: TopicSet,
): TopicSplit {
  const seenAsync = new Set(announced?.asyncTopics);
  const seenSync = new Set(announced?.syncTopics);
  const first: TopicSet = { asyncTopics: [], syncTopics: [] };
  const rest: TopicSet[] = [];
  const tooLarge: { topic: string; bytes: number }[] = [];
  let used = 0;
  let current: TopicSet | undefined;
  let currentBytes = 0;
  const place = (topic: string, key: keyof TopicSet): void => {
    const bytes = Buffer.byteLength(topic, 'utf8');
    if (bytes > maxTopicBytes) {
      tooLarge.push({ topic, bytes });
      return;
    }
    if ((key === 'asyncTopics' ? seenAsync : seenSync).has(topic)) return;
    const cost = bytes + ENTRY_OVERHEAD;
    if (current === undefined && used + cost <= budget) {
      first[key].push(topic);
      used += cost;
      return;
    }
    if (current === undefined || currentBytes + cost > TOPIC_FRAME_BYTES) {
      current = { asyncTopics: [], syncTopics: [] };
      currentBytes = 0;
      rest.push(current);
    }
    current[key].push(topic);
    currentBytes += cost;
  };
  for (const t of asyncTopics) place(t, 'asyncTopics');
  for (const t of syncTopics) place(t, 'syncTopics');
  return { first, rest, tooLarge };
}
