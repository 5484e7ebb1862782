/** Payloads shared by the scenarios: printable ASCII, so string length = UTF-8 bytes. */

export const TOPIC = 'bench.throughput';

/** Payload sizes every scenario measures, bytes. */
export const PAYLOAD_SIZES = [100, 1024];

/** A deterministic ASCII text of exactly `size` bytes. */
export function textPayload(size) {
  const alphabet = '{"id":12345,"name":"systemge","values":[1,2,3],"ok":true}';
  let s = '';
  while (s.length < size) s += alphabet;
  return s.slice(0, size);
}

/** "100 B", "1 KiB". */
export function sizeLabel(size) {
  return size >= 1024 && size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`;
}
