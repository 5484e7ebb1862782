import { FrameKind, type HandshakeAckFrame, type HandshakeFrame, PROTOCOL_VERSION } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import {
  ackFrame,
  authorized,
  certificateNames,
  checkAck,
  checkHello,
  checkHelloName,
  type HandshakeCheck,
  helloFrame,
  refusalError,
} from '../../src/connect/handshake.js';

const identity = { name: 'self', asyncTopics: ['a'], syncTopics: ['s'], info: { listen: '127.0.0.1:1' } };

function check(overrides: Partial<HandshakeCheck> = {}): HandshakeCheck {
  return {
    ownName: 'self',
    ownInstance: 'self-instance',
    auth: {},
    certificate: undefined,
    isConnected: () => false,
    connectedInstance: () => undefined,
    ...overrides,
  };
}

const hello = (overrides: Partial<HandshakeFrame> = {}): HandshakeFrame => ({
  ...helloFrame({ ...identity, name: 'peer' }, undefined),
  ...overrides,
});
const ack = (overrides: Partial<HandshakeAckFrame> = {}): HandshakeAckFrame => ({
  ...ackFrame({ ...identity, name: 'peer' }),
  ...overrides,
});

const cert = (subjectCN: string | undefined, subjectAltNames: string[] = []) => ({
  subjectCN,
  subjectAltNames,
  issuerCN: 'ca',
  fingerprint256: '00',
  validTo: '',
});

describe('handshake frames', () => {
  it('carry the version, name, topics, info, the accepted encodings, and the token only in the hello', () => {
    const encodings = ['text', 'bytes', 'msgpack'];
    expect(helloFrame(identity, 'tok')).toEqual({
      kind: FrameKind.Handshake,
      version: PROTOCOL_VERSION,
      auth: 'tok',
      ...identity,
      encodings,
    });
    expect(ackFrame(identity)).toEqual({ kind: FrameKind.HandshakeAck, version: PROTOCOL_VERSION, ...identity, encodings });
  });
});

describe('checkHello (listening side)', () => {
  it('accepts a hello of the same version without auth configured', () => {
    expect(checkHello(hello(), check())).toEqual({ kind: 'accept' });
  });

  it('refuses another protocol version first', () => {
    expect(checkHello(hello({ version: PROTOCOL_VERSION + 1, name: 'self' }), check())).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_PROTOCOL_VERSION' },
    });
  });

  it('checks the token, a per-peer token replacing the shared one', () => {
    const auth = { token: 'shared', peerTokens: { special: 'own' } };
    expect(checkHello(hello({ auth: 'shared' }), check({ auth }))).toEqual({ kind: 'accept' });
    expect(checkHello(hello({ auth: 'wrong' }), check({ auth }))).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_AUTH_FAILED' },
    });
    expect(checkHello(hello(), check({ auth }))).toMatchObject({ kind: 'refuse', error: { code: 'SYSTEMGE_ERR_AUTH_FAILED' } });
    expect(checkHello(hello({ name: 'special', auth: 'own' }), check({ auth }))).toEqual({ kind: 'accept' });
    expect(checkHello(hello({ name: 'special', auth: 'shared' }), check({ auth }))).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_AUTH_FAILED' },
    });
    // A peer token named like an Object.prototype member is not found there.
    expect(checkHello(hello({ name: 'constructor', auth: 'shared' }), check({ auth }))).toEqual({ kind: 'accept' });
  });

  it("refuses this node's own name and the name of a connected peer", () => {
    expect(checkHelloName(hello({ name: 'self' }), check())).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_DUPLICATE_NAME' },
    });
    expect(checkHelloName(hello(), check({ isConnected: (n) => n === 'peer' }))).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_DUPLICATE_NAME' },
    });
  });

  it('with requireCertificateName, wants the announced name in the verified certificate', () => {
    const auth = { requireCertificateName: true };
    expect(checkHello(hello(), check({ auth }))).toMatchObject({ kind: 'refuse', error: { code: 'SYSTEMGE_ERR_AUTH_FAILED' } });
    expect(checkHello(hello(), check({ auth, certificate: cert('peer') }))).toEqual({ kind: 'accept' });
    expect(checkHello(hello(), check({ auth, certificate: cert('x', ['DNS:peer']) }))).toEqual({ kind: 'accept' });
    expect(checkHello(hello(), check({ auth, certificate: cert('x', ['DNS:other']) }))).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_AUTH_FAILED' },
    });
    expect(certificateNames({}, undefined, 'anything')).toBe(true);
  });
});

describe('checkAck (dialing side)', () => {
  it('accepts the expected peer and refuses another name at that endpoint', () => {
    expect(checkAck(ack(), check(), { host: 'h', port: 1, name: 'peer' })).toEqual({ kind: 'accept' });
    expect(checkAck(ack(), check(), { host: 'h', port: 1, name: 'other' })).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_HANDSHAKE', message: 'expected peer "other" at h:1, it is "peer"' },
    });
  });

  it('refuses another version, a missing certificate name and a name clash', () => {
    expect(checkAck(ack({ version: PROTOCOL_VERSION + 1 }), check(), undefined)).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_PROTOCOL_VERSION' },
    });
    expect(checkAck(ack(), check({ auth: { requireCertificateName: true } }), undefined)).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_AUTH_FAILED' },
    });
    expect(checkAck(ack({ name: 'self' }), check(), undefined)).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_DUPLICATE_NAME' },
    });
  });
});

describe('self-dial and a second connection to the same node instance', () => {
  const sameNode = (name: string) => (name === 'peer' ? 'peer-instance' : undefined);

  it('hello: its own instance id is a self-dial, checked before the token', () => {
    const auth = { token: 'shared' };
    expect(checkHello(hello({ info: { instance: 'self-instance' } }), check({ auth }))).toEqual({ kind: 'self-dial' });
  });

  it('hello: the instance of the ready peer of that name is the same node, not a name clash; another instance is', () => {
    const connected = check({ isConnected: (n) => n === 'peer', connectedInstance: sameNode });
    expect(checkHelloName(hello({ info: { instance: 'peer-instance' } }), connected)).toEqual({ kind: 'same-instance' });
    expect(checkHelloName(hello({ info: { instance: 'impostor' } }), connected)).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_DUPLICATE_NAME' },
    });
    // Without an instance id, nothing tells a second connection from an impostor.
    expect(checkHelloName(hello(), connected)).toMatchObject({ kind: 'refuse', error: { code: 'SYSTEMGE_ERR_DUPLICATE_NAME' } });
    // checkHello itself only judges the dialer: a connected name is for checkHelloName.
    expect(checkHello(hello({ info: { instance: 'peer-instance' } }), connected)).toEqual({ kind: 'accept' });
  });

  it('hello: the token is checked (checkHello) before the same-instance rule (checkHelloName)', () => {
    const connected = check({ auth: { token: 'shared' }, isConnected: (n) => n === 'peer', connectedInstance: sameNode });
    expect(checkHello(hello({ info: { instance: 'peer-instance' } }), connected)).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_AUTH_FAILED' },
    });
  });

  it('ack: its own instance id refuses with SelfDialError naming the endpoint', () => {
    expect(checkAck(ack({ info: { instance: 'self-instance' } }), check(), { host: 'h', port: 1 })).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_SELF_DIAL', message: 'node "self" dialed itself at h:1' },
    });
  });

  it('ack: "superseded" means the listener kept another connection; the same instance is resolved, not refused', () => {
    const connected = check({ isConnected: (n) => n === 'peer', connectedInstance: sameNode });
    expect(checkAck(ack({ info: { instance: 'peer-instance', superseded: 'true' } }), connected, undefined)).toEqual({
      kind: 'superseded',
    });
    expect(checkAck(ack({ info: { instance: 'peer-instance' } }), connected, undefined)).toEqual({ kind: 'same-instance' });
    expect(checkAck(ack({ info: { instance: 'other' } }), connected, undefined)).toMatchObject({
      kind: 'refuse',
      error: { code: 'SYSTEMGE_ERR_DUPLICATE_NAME' },
    });
  });

  it('ackFrame adds extra info entries to the identity', () => {
    expect(ackFrame(identity, { superseded: 'true' }).info).toEqual({ listen: '127.0.0.1:1', superseded: 'true' });
    expect(identity.info).toEqual({ listen: '127.0.0.1:1' });
  });
});

describe('limits and topic lists in the handshake', () => {
  it('hello and ack carry the limits of the identity, and only the topics given', () => {
    const limits = {
      maxFrameBytes: 1,
      maxTopicBytes: 2,
      maxPayloadBytes: 3,
      maxSyncTokenBytes: 4,
      maxNodeNameBytes: 5,
      maxHandshakeFrameBytes: 6,
    };
    const self = { ...identity, limits };
    const part = { asyncTopics: [], syncTopics: ['s'] };
    expect(helloFrame(self, undefined, part)).toMatchObject({ asyncTopics: [], syncTopics: ['s'], limits });
    expect(ackFrame(self, undefined, part)).toMatchObject({ asyncTopics: [], syncTopics: ['s'], limits });
    expect(ackFrame(self)).toMatchObject({ asyncTopics: ['a'], syncTopics: ['s'], limits });
  });
});

describe('authorized and refusalError', () => {
  it('checks the token against peerTokens[name] or token: any length, and a missing token never matches', () => {
    const withToken = check({ auth: { token: 'abc' } });
    expect(authorized(hello({ auth: 'abc' }), withToken)).toBe(true);
    expect(authorized(hello({ auth: 'abcd' }), withToken)).toBe(false);
    expect(authorized(hello({ auth: undefined }), check({ auth: { token: '' } }))).toBe(false);
    expect(authorized(hello({ auth: 'own' }), check({ auth: { token: 'abc', peerTokens: { peer: 'own' } } }))).toBe(true);
    expect(authorized(hello({ auth: 'abc' }), check({ auth: { token: 'abc', peerTokens: { peer: 'own' } } }))).toBe(false);
    expect(authorized(hello({ auth: undefined }), check())).toBe(true);
  });

  it("turns the other side's goodbye into its typed error, and anything else into a handshake error", () => {
    expect(refusalError({ code: 'SYSTEMGE_ERR_AUTH_FAILED', reason: 'no', initiator: 'remote', error: undefined })).toMatchObject({
      code: 'SYSTEMGE_ERR_AUTH_FAILED',
    });
    expect(refusalError({ code: 'normal', reason: 'bye', initiator: 'remote', error: undefined })).toMatchObject({
      code: 'SYSTEMGE_ERR_HANDSHAKE',
      message: 'connection closed during handshake: bye',
    });
  });
});
