import { acceptsEncoding, encodingNames, PAYLOAD_ENCODING_NAMES, type Payload, PayloadEncodingUnsupportedError } from '@systemge/protocol';
import type { Peer } from '../peers/peer.js';

/*
 * Which peers can take a payload. Text and bytes every peer reads; a structured payload travels as
 * msgpack, which a peer reads only when its handshake announced it (`Peer.encodings`): a node that
 * predates structured payloads closes the connection on such a frame, so it is never sent one.
 */

/** The msgpack encoding byte (the index of its name). */
const MSGPACK = PAYLOAD_ENCODING_NAMES.indexOf('msgpack');

/** True when the payload goes as text or bytes, which every peer accepts. */
export function plainPayload(payload: Payload): boolean {
  return typeof payload === 'string' || payload instanceof Uint8Array;
}

/** True when `peer` accepts the payload's encoding. */
export function acceptsPayload(peer: Peer, payload: Payload): boolean {
  return plainPayload(payload) || acceptsEncoding(peer.encodings, MSGPACK);
}

/** The peers of `targets` that do not accept the payload's encoding, or undefined when all do. */
export function refusingPeers(targets: readonly Peer[], payload: Payload): Peer[] | undefined {
  if (plainPayload(payload)) return undefined;
  let refusing: Peer[] | undefined;
  for (let i = 0; i < targets.length; i++) {
    const peer = targets[i] as Peer;
    if (!acceptsEncoding(peer.encodings, MSGPACK)) (refusing ??= []).push(peer);
  }
  return refusing;
}

/** The typed error for `peers` that do not accept the (structured) payload of a message on `topic`. */
export function encodingUnsupported(topic: string, peers: readonly Peer[]): PayloadEncodingUnsupportedError {
  const accepted = encodingNames((peers[0] as Peer).encodings);
  return new PayloadEncodingUnsupportedError(
    topic,
    peers.map((p) => p.name),
    'msgpack',
    accepted,
  );
}
