import { FrameKind, type HandshakeAckFrame, type HandshakeFrame, PROTOCOL_VERSION } from '@systemge/protocol';
import { describe, expect, it } from 'vitest';
import {
  ackFrame,
  certificateNames,
  checkAck,
  checkHello,
  type HandshakeCheck,
  helloFrame,
  refusalError,
  tokenMatches,
} from '../../src/connect/handshake.js';

const identity = { name: 'self', asyncTopics: ['a'], syncTopics: ['s'], info: { listen: '127.0.0.1:1' } };

function check(overrides: Partial<HandshakeCheck> = {}): HandshakeCheck {
  return { ownName: 'self', auth: {}, certificate: undefined, isConnected: () => false, ...overrides };
}

const hello = (overrides: Partial<HandshakeFrame> = {}): HandshakeFrame => ({
  ...helloFrame({ ...identity, name: 'peer' }, undefined),
  ...overrides,
});
const ack = (overrides: Partial<HandshakeAckFrame> = {}): HandshakeAckFrame => ({ ...ackFrame({ ...identity, name: 'peer' }), ...overrides });

const cert = (subjectCN: string | undefined, subjectAltNames: string[] = []) => ({
  subjectCN,
  subjectAltNames,
  issuerCN: 'ca',
  fingerprint256: '00',
  validTo: '',
});

describe('handshake frames', () => {
  it('carry the version, name, topics, info, and the token only in the hello', () => {
    expect(helloFrame(identity, 'tok')).toEqual({ kind: FrameKind.Handshake, version: PROTOCOL_VERSION, auth: 'tok', ...identity });
    expect(ackFrame(identity)).toEqual({ kind: FrameKind.HandshakeAck, version: PROTOCOL_VERSION, ...identity });
  });
});

describe('checkHello (listening side)', () => {
  it('accepts a hello of the same version without auth configured', () => {
    expect(checkHello(hello(), check())).toBeUndefined();
  });

  it('refuses another protocol version first', () => {
    expect(checkHello(hello({ version: PROTOCOL_VERSION + 1, name: 'self' }), check())).toMatchObject({ code: 'SYSTEMGE_ERR_PROTOCOL_VERSION' });
  });

  it('checks the token, a per-peer token replacing the shared one', () => {
    const auth = { token: 'shared', peerTokens: { special: 'own' } };
    expect(checkHello(hello({ auth: 'shared' }), check({ auth }))).toBeUndefined();
    expect(checkHello(hello({ auth: 'wrong' }), check({ auth }))).toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(checkHello(hello(), check({ auth }))).toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(checkHello(hello({ name: 'special', auth: 'own' }), check({ auth }))).toBeUndefined();
    expect(checkHello(hello({ name: 'special', auth: 'shared' }), check({ auth }))).toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    // A peer token named like an Object.prototype member is not found there.
    expect(checkHello(hello({ name: 'constructor', auth: 'shared' }), check({ auth }))).toBeUndefined();
  });

  it("refuses this node's own name and the name of a connected peer", () => {
    expect(checkHello(hello({ name: 'self' }), check())).toMatchObject({ code: 'SYSTEMGE_ERR_DUPLICATE_NAME' });
    expect(checkHello(hello(), check({ isConnected: (n) => n === 'peer' }))).toMatchObject({ code: 'SYSTEMGE_ERR_DUPLICATE_NAME' });
  });

  it('with requireCertificateName, wants the announced name in the verified certificate', () => {
    const auth = { requireCertificateName: true };
    expect(checkHello(hello(), check({ auth }))).toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(checkHello(hello(), check({ auth, certificate: cert('peer') }))).toBeUndefined();
    expect(checkHello(hello(), check({ auth, certificate: cert('x', ['DNS:peer']) }))).toBeUndefined();
    expect(checkHello(hello(), check({ auth, certificate: cert('x', ['DNS:other']) }))).toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(certificateNames({}, undefined, 'anything')).toBe(true);
  });
});

describe('checkAck (dialing side)', () => {
  it('accepts the expected peer and refuses another name at that endpoint', () => {
    expect(checkAck(ack(), check(), { host: 'h', port: 1, name: 'peer' })).toBeUndefined();
    const error = checkAck(ack(), check(), { host: 'h', port: 1, name: 'other' });
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_HANDSHAKE' });
    expect(error?.message).toBe('expected peer "other" at h:1, it is "peer"');
  });

  it('refuses another version, a missing certificate name and a name clash', () => {
    expect(checkAck(ack({ version: PROTOCOL_VERSION + 1 }), check(), undefined)).toMatchObject({ code: 'SYSTEMGE_ERR_PROTOCOL_VERSION' });
    expect(checkAck(ack(), check({ auth: { requireCertificateName: true } }), undefined)).toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(checkAck(ack({ name: 'self' }), check(), undefined)).toMatchObject({ code: 'SYSTEMGE_ERR_DUPLICATE_NAME' });
  });
});

describe('tokenMatches and refusalError', () => {
  it('compares tokens of any length, and a missing token never matches', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(tokenMatches(undefined, '')).toBe(false);
  });

  it("turns the other side's goodbye into its typed error, and anything else into a handshake error", () => {
    expect(refusalError({ code: 'SYSTEMGE_ERR_AUTH_FAILED', reason: 'no', initiator: 'remote', error: undefined })).toMatchObject({ code: 'SYSTEMGE_ERR_AUTH_FAILED' });
    expect(refusalError({ code: 'normal', reason: 'bye', initiator: 'remote', error: undefined })).toMatchObject({
      code: 'SYSTEMGE_ERR_HANDSHAKE',
      message: 'connection closed during handshake: bye',
    });
  });
});
