import { describe, expect, it } from 'vitest';
import { TokenCheck, tokensEqual } from '../src/index.js';

describe('constant-time token comparison', () => {
  it('matches only the exact token, whatever the lengths, and never an absent one', () => {
    expect(tokensEqual('s3cret', 's3cret')).toBe(true);
    expect(tokensEqual('s3cre', 's3cret')).toBe(false);
    expect(tokensEqual('s3cret!', 's3cret')).toBe(false);
    expect(tokensEqual('S3cret', 's3cret')).toBe(false);
    expect(tokensEqual(undefined, 's3cret')).toBe(false);
    expect(tokensEqual('', '')).toBe(true);
    expect(tokensEqual(undefined, '')).toBe(false);
    const check = new TokenCheck('tok');
    expect([check.matches('tok'), check.matches('to'), check.matches('tok2'), check.matches(undefined)]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });
});
