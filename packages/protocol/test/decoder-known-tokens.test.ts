import { describe, expect, it } from 'vitest';
import { encodeFrame, type Frame, FrameDecoder, FrameKind, type ProtocolError, resolveLimits } from '../src/index.js';
import { expectProtocolError, rawMessage } from './collect-frames.js';

/*
 * A sink with `knownToken` is asked for the token of each response and failure before the
 * decoder decodes it, and its string is used as is (no new string). Requests and async messages
 * never ask. A token the sink does not know is decoded and checked as always.
 */

const limits = resolveLimits();

function decoder(known: Map<string, string>) {
  const asked: string[] = [];
  const tokens: (string | undefined)[] = [];
  const errors: ProtocolError[] = [];
  const d = new FrameDecoder(limits, {
    onFrame: () => {},
    onMessage: (_kind, _topic, _payload, syncToken) => void tokens.push(syncToken),
    knownToken: (buf, start, end) => {
      const text = Buffer.from(buf.subarray(start, end)).toString('latin1');
      asked.push(text);
      return known.get(text);
    },
    onError: (error) => void errors.push(error),
  });
  return { d, asked, tokens, errors };
}

const frame = (kind: 1 | 2 | 3 | 4, syncToken: string | undefined): Buffer =>
  encodeFrame({ kind, topic: 't', payload: 'p', syncToken } as Frame, limits);

describe('FrameDecoder known tokens', () => {
  it('uses the string the sink holds for responses and failures, and never asks for requests or async messages', () => {
    // A string built at run time, so identity shows the decoder returned it rather than an equal copy.
    const held = ['tok', 'en', '42'].join('');
    const c = decoder(new Map([['token42', held]]));
    c.d.push(
      Buffer.concat([
        frame(FrameKind.SyncRequest, 'token42'),
        frame(FrameKind.AsyncMessage, 'token42'),
        frame(FrameKind.SyncResponse, 'token42'),
        frame(FrameKind.SyncFailure, 'token42'),
        frame(FrameKind.SyncResponse, 'other'),
      ]),
    );
    expect(c.errors).toEqual([]);
    expect(c.asked).toEqual(['token42', 'token42', 'other']);
    expect(c.tokens).toEqual(['token42', 'token42', 'token42', 'token42', 'other']);
    expect(c.tokens[2]).toBe(held);
    expect(c.tokens[3]).toBe(held);
  });

  it('still refuses an unknown response token that is not UTF-8', () => {
    const c = decoder(new Map());
    c.d.push(rawMessage(FrameKind.SyncResponse, Buffer.from('t'), Buffer.from([0x74, 0xc0, 0xaf]), Buffer.from('p')));
    expect(c.tokens).toEqual([]);
    expect(c.errors).toHaveLength(1);
    expectProtocolError(c.errors[0], 'SYSTEMGE_ERR_INVALID_UTF8', false);
  });
});
