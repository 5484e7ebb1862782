import { type Member, type MemberRecord, plainMetadata } from '@systemge/node';

/** Version of the JSON a member writes under its key. */
export const RECORD_VERSION = 1;

/** The JSON stored under `<prefix>/<cluster>/members/<name>`. */
export function encodeRecord(self: MemberRecord): string {
  return JSON.stringify({
    v: RECORD_VERSION,
    name: self.name,
    instance: self.instance,
    host: self.host,
    port: self.port,
    topics: self.topics ?? [],
    metadata: self.metadata ?? {},
  });
}

/** A member, or why the record is not one (the reason is a short stable word for counting). */
export type Decoded = { member: Member } | { reason: string; detail: string };

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

/** Decodes a record read under `key`, whose last segment must be the record's name. */
export function decodeRecord(name: string, value: string): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { reason: 'malformed-json', detail: `value of "${name}" is not JSON: ${value.slice(0, 80)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { reason: 'malformed-record', detail: `value of "${name}" is not a JSON object` };
  }
  const r = parsed as Record<string, unknown>;
  if (r['v'] !== RECORD_VERSION)
    return { reason: 'unknown-version', detail: `record "${name}" has version ${JSON.stringify(r['v'])}, expected ${RECORD_VERSION}` };
  if (r['name'] !== name) return { reason: 'name-mismatch', detail: `record under "${name}" names ${JSON.stringify(r['name'])}` };
  const host = r['host'];
  const port = r['port'];
  if (typeof host !== 'string' || host === '') return { reason: 'malformed-record', detail: `record "${name}" has no host` };
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { reason: 'malformed-record', detail: `record "${name}" has port ${JSON.stringify(port)}, not an integer from 1 to 65535` };
  }
  const topics = r['topics'] ?? [];
  if (!isStringArray(topics)) return { reason: 'malformed-record', detail: `record "${name}" has topics that are not a string list` };
  const instance = r['instance'];
  if (instance !== undefined && typeof instance !== 'string')
    return { reason: 'malformed-record', detail: `record "${name}" has a non-string instance` };
  const metadata = r['metadata'] ?? {};
  if (
    metadata === null ||
    typeof metadata !== 'object' ||
    Array.isArray(metadata) ||
    !Object.values(metadata).every((v) => typeof v === 'string')
  ) {
    return { reason: 'malformed-record', detail: `record "${name}" has metadata that is not an object of strings` };
  }
  return {
    member: { id: name, name, instance, host, port, topics, metadata: plainMetadata(metadata as Record<string, string>) },
  };
}
