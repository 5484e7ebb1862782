import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, encodeFrame, FrameKind, isSystemgeError, resolveLimits, type ProtocolLimits } from '../src/index.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('resolveLimits', () => {
  it('fills in the defaults', () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({})).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ maxTopicBytes: 10 })).toEqual({ ...DEFAULT_LIMITS, maxTopicBytes: 10 });
  });

  it('returns a fresh object, never the frozen defaults', () => {
    const limits = resolveLimits();
    expect(limits).not.toBe(DEFAULT_LIMITS);
    limits.maxTopicBytes = 1;
    expect(DEFAULT_LIMITS.maxTopicBytes).toBe(256);
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });

  it('keeps the default payload limit inside the default frame limit', () => {
    expect(DEFAULT_LIMITS.maxPayloadBytes).toBeLessThan(DEFAULT_LIMITS.maxFrameBytes);
  });

  it('skips keys given as undefined', () => {
    expect(resolveLimits({ maxFrameBytes: undefined as unknown as number })).toEqual(DEFAULT_LIMITS);
  });

  const bad: [string, Partial<ProtocolLimits>][] = [
    ['zero', { maxFrameBytes: 0 }],
    ['negative', { maxTopicBytes: -1 }],
    ['fraction', { maxPayloadBytes: 1.5 }],
    ['NaN', { maxSyncTokenBytes: Number.NaN }],
    ['Infinity', { maxFrameBytes: Number.POSITIVE_INFINITY }],
    ['a string', { maxNodeNameBytes: '10' as unknown as number }],
    ['above the u16 field length', { maxTopicBytes: 0x10000 }],
    ['above the u16 token length', { maxSyncTokenBytes: 0x10000 }],
    ['above the u16 name length', { maxNodeNameBytes: 0x10000 }],
    ['above the u32 frame length', { maxFrameBytes: 2 ** 32 }],
    ['an unknown key', { maxFooBytes: 1 } as Partial<ProtocolLimits>],
  ];
  for (const [name, limits] of bad) {
    it(`rejects ${name} with SYSTEMGE_ERR_INVALID_LIMITS naming the limit`, () => {
      const error = thrown(() => resolveLimits(limits));
      expect(isSystemgeError(error, 'SYSTEMGE_ERR_INVALID_LIMITS')).toBe(true);
      expect((error as Error).message).toContain(Object.keys(limits)[0]);
    });
  }

  it('accepts the largest values the format can carry', () => {
    const max = {
      maxFrameBytes: 0xffff_ffff,
      maxTopicBytes: 0xffff,
      maxPayloadBytes: 0xffff_ffff,
      maxSyncTokenBytes: 0xffff,
      maxNodeNameBytes: 0xffff,
      maxHandshakeFrameBytes: 0xffff_ffff,
    };
    expect(resolveLimits(max)).toEqual(max);
  });

  it('refuses a handshake cap too small for a handshake', () => {
    const error = thrown(() => resolveLimits({ maxHandshakeFrameBytes: 16383 }));
    expect(isSystemgeError(error, 'SYSTEMGE_ERR_INVALID_LIMITS')).toBe(true);
    expect((error as Error).message).toContain('maxHandshakeFrameBytes must be an integer from 16384');
    expect(resolveLimits({ maxHandshakeFrameBytes: 16384 }).maxHandshakeFrameBytes).toBe(16384);
  });
});

describe('the encoder enforces limits before anything leaves', () => {
  const limits = resolveLimits({ maxTopicBytes: 4, maxPayloadBytes: 8, maxSyncTokenBytes: 3, maxFrameBytes: 64 });

  it('topic over maxTopicBytes (counted in UTF-8 bytes)', () => {
    const error = thrown(() => encodeFrame({ kind: FrameKind.AsyncMessage, topic: 'äää', payload: '', syncToken: undefined }, limits));
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'topic', size: 6, limit: 4, fatal: false });
    expect((error as Error).message).toBe('topic of 6 bytes exceeds maxTopicBytes 4');
  });

  it('payload over maxPayloadBytes, string and binary', () => {
    for (const payload of ['123456789', new Uint8Array(9)]) {
      const error = thrown(() => encodeFrame({ kind: FrameKind.AsyncMessage, topic: 't', payload, syncToken: undefined }, limits));
      expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'payload', size: 9, limit: 8, topic: 't' });
    }
  });

  it('sync token over maxSyncTokenBytes', () => {
    const error = thrown(() => encodeFrame({ kind: FrameKind.SyncRequest, topic: 't', payload: '', syncToken: 'abcd' }, limits));
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_FIELD_TOO_LARGE', field: 'syncToken', size: 4, limit: 3 });
  });

  it('empty topic', () => {
    const error = thrown(() => encodeFrame({ kind: FrameKind.SyncRequest, topic: '', payload: 'x', syncToken: 'k' }, limits));
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_EMPTY_TOPIC', fatal: false, syncToken: 'k' });
  });

  it('frame over maxFrameBytes, message and control', () => {
    const small = resolveLimits({ maxFrameBytes: 16 });
    expect(
      thrown(() => encodeFrame({ kind: FrameKind.AsyncMessage, topic: 't', payload: 'x'.repeat(20), syncToken: undefined }, small)),
    ).toMatchObject({
      code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE',
      limit: 16,
    });
    expect(thrown(() => encodeFrame({ kind: FrameKind.Goodbye, code: 'normal', reason: 'r'.repeat(20) }, small))).toMatchObject({
      code: 'SYSTEMGE_ERR_FRAME_TOO_LARGE',
      limit: 16,
    });
  });

  it('a sync frame without a sync token is refused (the peer would reject it)', () => {
    for (const syncToken of [undefined, '']) {
      for (const kind of [FrameKind.SyncRequest, FrameKind.SyncResponse, FrameKind.SyncFailure]) {
        const error = thrown(() => encodeFrame({ kind, topic: 't', payload: '', syncToken }, limits));
        expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_INVALID_FRAME', fatal: false });
      }
    }
  });

  it('an unknown kind cannot be encoded', () => {
    const error = thrown(() => encodeFrame({ kind: 99 } as never, limits));
    expect(error).toMatchObject({ code: 'SYSTEMGE_ERR_INVALID_FRAME' });
  });
});
