import { createHash, timingSafeEqual } from 'node:crypto';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * True when `presented` equals `expected`, compared in constant time whatever their lengths:
 * both sides are hashed first, so neither the length nor a common prefix leaks through timing.
 * An absent token never matches.
 */
export function tokensEqual(presented: string | undefined, expected: string): boolean {
  return timingSafeEqual(digest(presented ?? ''), digest(expected)) && presented !== undefined;
}

/** One expected token, hashed once, checked against presented tokens in constant time (see `tokensEqual`). */
export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  matches(presented: string | undefined): boolean {
    return timingSafeEqual(digest(presented ?? ''), this.expected) && presented !== undefined;
  }
}
