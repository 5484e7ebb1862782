import { tokensEqual } from '@systemge/access';
import {
  ACCEPTED_ENCODINGS,
  type CloseInfo,
  FrameKind,
  type HandshakeAckFrame,
  type HandshakeFrame,
  type PeerCertificateInfo,
  PROTOCOL_VERSION,
  type ProtocolLimits,
  ProtocolVersionError,
  type SystemgeError,
  type TopicSet,
} from '@systemge/protocol';
import type { AuthConfig, EndpointConfig } from '../config.js';
import { AuthenticationError, DuplicateNameError, errorFromRefusal, HandshakeError, SelfDialError } from '../errors.js';
import { endpointKey } from './backoff.js';

/*
 * The handshake as pure functions: the frames a node sends, and the checks of the frame it receives.
 * No state, no I/O: the handshake driver (handshaker.ts) sends, refuses and makes peers ready.
 */

/** What a node announces about itself in its handshake or ack. */
export interface HandshakeIdentity {
  name: string;
  asyncTopics: string[];
  syncTopics: string[];
  info: Record<string, string>;
  /** This node's receive limits, announced so the peer refuses locally what this node would refuse. */
  limits?: ProtocolLimits;
}

/** What the checks need to know about this node and the connection. */
export interface HandshakeCheck {
  /** This node's name. */
  ownName: string;
  /** This node instance's random id (sent as `info.instance` in its handshakes). */
  ownInstance: string;
  auth: AuthConfig;
  /** The verified certificate of the connection's other side (TLS), if any. */
  certificate: PeerCertificateInfo | undefined;
  /** True when a ready peer of that name is already connected. */
  isConnected(name: string): boolean;
  /** The instance id the ready peer of that name announced, if one is connected. */
  connectedInstance(name: string): string | undefined;
}

/**
 * What to do with a received handshake or ack:
 * - `accept`: the peer becomes ready;
 * - `refuse`: close the connection with `error`'s code;
 * - `self-dial`: this node reached its own listener (hello only; closed quietly, the dialer's error);
 * - `same-instance`: a ready connection to the same node instance exists (both sides dialed):
 *   the duplicate resolution keeps one of the two;
 * - `superseded`: the listener kept another connection to this node (ack only).
 */
export type HandshakeVerdict =
  | { kind: 'accept' }
  | { kind: 'refuse'; error: SystemgeError }
  | { kind: 'self-dial' }
  | { kind: 'same-instance' }
  | { kind: 'superseded' };

const ACCEPT: HandshakeVerdict = { kind: 'accept' };
const refuse = (error: SystemgeError): HandshakeVerdict => ({ kind: 'refuse', error });

/*
 * Both frames announce the payload encodings this node accepts (`encodings`): a peer then never
 * sends it a payload it cannot read, and a node that predates the field ignores it (unknown fields
 * of a handshake body are dropped). A handshake without the field comes from such a node: it is
 * sent text and bytes only (see `Peer.encodings`).
 */

/**
 * The dialer's first frame. `auth` is the endpoint's token, else `auth.token`; `topics` the part of
 * the topic lists it carries (default: all), the rest following in topic frames.
 */
export function helloFrame(self: HandshakeIdentity, auth: string | undefined, topics: TopicSet = self): HandshakeFrame {
  return {
    kind: FrameKind.Handshake,
    version: PROTOCOL_VERSION,
    name: self.name,
    auth,
    asyncTopics: topics.asyncTopics,
    syncTopics: topics.syncTopics,
    info: self.info,
    limits: self.limits,
    encodings: [...ACCEPTED_ENCODINGS],
  };
}

/**
 * The listener's answer to an accepted handshake; `extra` adds info entries (`superseded`), `topics`
 * is the part of the topic lists it carries (default: all).
 */
export function ackFrame(self: HandshakeIdentity, extra?: Record<string, string>, topics: TopicSet = self): HandshakeAckFrame {
  return {
    kind: FrameKind.HandshakeAck,
    version: PROTOCOL_VERSION,
    name: self.name,
    asyncTopics: topics.asyncTopics,
    syncTopics: topics.syncTopics,
    info: extra === undefined ? self.info : { ...self.info, ...extra },
    limits: self.limits,
    encodings: [...ACCEPTED_ENCODINGS],
  };
}

/** With `auth.requireCertificateName`, the verified peer certificate must carry the announced name. */
export function certificateNames(auth: AuthConfig, certificate: PeerCertificateInfo | undefined, name: string): boolean {
  if (auth.requireCertificateName !== true) return true;
  if (certificate === undefined) return false;
  return (
    certificate.subjectCN === name || certificate.subjectAltNames.includes(`DNS:${name}`) || certificate.subjectAltNames.includes(name)
  );
}

/** The dialer's token (and certificate name, when required) against `auth.peerTokens[name]` or `auth.token`. */
export function authorized(frame: HandshakeFrame, check: HandshakeCheck): boolean {
  if (!certificateNames(check.auth, check.certificate, frame.name)) return false;
  const { token, peerTokens } = check.auth;
  const expected = (peerTokens !== undefined && Object.hasOwn(peerTokens, frame.name) ? peerTokens[frame.name] : undefined) ?? token;
  if (expected === undefined) return true;
  return tokensEqual(frame.auth, expected);
}

export function nameClash(check: HandshakeCheck, name: string): DuplicateNameError | undefined {
  if (name === check.ownName) return new DuplicateNameError(`peer uses this node's own name "${name}"`);
  if (check.isConnected(name)) return new DuplicateNameError(`a node named "${name}" is already connected to ${check.ownName}`);
  return undefined;
}

/** True when `instance` is that of the ready peer already connected as `name` (the same node dialed twice). */
function sameInstance(check: HandshakeCheck, name: string, instance: string | undefined): boolean {
  return instance !== undefined && check.connectedInstance(name) === instance;
}

/**
 * Listening side, first the dialer itself: version, self-dial, token (and certificate name).
 * `accept` here means "go on": the handshaker then applies the dialer's announced limits, and
 * `checkHelloName` decides about its name.
 */
export function checkHello(frame: HandshakeFrame, check: HandshakeCheck): HandshakeVerdict {
  if (frame.version !== PROTOCOL_VERSION) return refuse(new ProtocolVersionError(frame.version, PROTOCOL_VERSION));
  if (frame.info?.instance === check.ownInstance) return { kind: 'self-dial' };
  if (!authorized(frame, check)) return refuse(new AuthenticationError());
  return ACCEPT;
}

/** Listening side, then the dialer's name: a second connection from the same node instance, or a name clash. */
export function checkHelloName(frame: HandshakeFrame, check: HandshakeCheck): HandshakeVerdict {
  if (sameInstance(check, frame.name, frame.info?.instance)) return { kind: 'same-instance' };
  const clash = nameClash(check, frame.name);
  return clash === undefined ? ACCEPT : refuse(clash);
}

/**
 * Dialing side: the verdict on the listener's ack. In order: version, self-dial, certificate name,
 * the endpoint's expected name, the listener keeping another connection, a second connection to
 * the same node instance, name clash.
 */
export function checkAck(frame: HandshakeAckFrame, check: HandshakeCheck, endpoint: EndpointConfig | undefined): HandshakeVerdict {
  if (frame.version !== PROTOCOL_VERSION) return refuse(new ProtocolVersionError(frame.version, PROTOCOL_VERSION));
  const instance = frame.info?.instance;
  if (instance === check.ownInstance) {
    return refuse(new SelfDialError(`node "${check.ownName}" dialed itself at ${endpointKey(endpoint as EndpointConfig)}`));
  }
  if (!certificateNames(check.auth, check.certificate, frame.name)) return refuse(new AuthenticationError());
  if (endpoint?.name !== undefined && endpoint.name !== frame.name) {
    return refuse(new HandshakeError(`expected peer "${endpoint.name}" at ${endpointKey(endpoint)}, it is "${frame.name}"`));
  }
  if (frame.info?.superseded === 'true') return { kind: 'superseded' };
  if (sameInstance(check, frame.name, instance)) return { kind: 'same-instance' };
  const clash = nameClash(check, frame.name);
  return clash === undefined ? ACCEPT : refuse(clash);
}

/** The error a dial's handshake fails with when the connection closes before it completed. */
export function refusalError(info: CloseInfo): Error {
  if (info.initiator === 'remote' && info.code !== 'normal' && info.code !== 'SYSTEMGE_ERR_CONNECTION_CLOSED') {
    return errorFromRefusal(info.code, info.reason);
  }
  return info.error ?? new HandshakeError(`connection closed during handshake: ${info.reason}`);
}
