import { isUtf8 } from 'node:buffer';

/** Whole-buffer check; Node's isUtf8 is SIMD-accelerated. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}

/**
 * Incremental UTF-8 validator for text messages that arrive in pieces (fragments,
 * or one frame split across TCP reads). It rejects at the first byte that cannot
 * be part of valid UTF-8, so a connection is failed as soon as the bad sequence
 * arrives (RFC 6455 section 8.1) instead of after the last fragment. A code point
 * split across pieces is fine.
 *
 * The bulk of each piece goes through isUtf8; only the at most three bytes of a
 * code point that straddles a boundary go through the byte-wise state machine.
 */
export class Utf8Validator {
  /** Continuation bytes still expected for the current code point. */
  private need = 0;
  /** Allowed range of the next continuation byte (narrower after E0, ED, F0, F4). */
  private lower = 0x80;
  private upper = 0xbf;

  /** True when no code point is left unfinished: the text may end here. */
  get complete(): boolean {
    return this.need === 0;
  }

  reset(): void {
    this.need = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }

  /** Feed bytes; returns false as soon as they cannot be valid UTF-8. */
  push(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    let i = start;
    while (this.need > 0 && i < end) {
      if (!this.step(bytes[i]!)) return false;
      i++;
    }
    if (i >= end) return true;
    // Find a code point that starts within the last 3 bytes but does not finish.
    let tail = end;
    for (let j = end - 1; j >= i && j >= end - 3; j--) {
      const b = bytes[j]!;
      if (b < 0x80) break;
      if (b >= 0xc0) {
        const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (end - j < length) tail = j;
        break;
      }
    }
    // The prefix ends on a code point boundary, so isUtf8 judges it exactly.
    if (tail > i && !isUtf8(bytes.subarray(i, tail))) return false;
    for (let k = tail; k < end; k++) {
      if (!this.step(bytes[k]!)) return false;
    }
    return true;
  }

  private step(b: number): boolean {
    if (this.need === 0) {
      if (b < 0x80) return true;
      if (b >= 0xc2 && b <= 0xdf) return this.expect(1, 0x80, 0xbf);
      if (b === 0xe0) return this.expect(2, 0xa0, 0xbf); // no overlong 3-byte forms
      if (b === 0xed) return this.expect(2, 0x80, 0x9f); // no UTF-16 surrogates
      if (b >= 0xe1 && b <= 0xef) return this.expect(2, 0x80, 0xbf);
      if (b === 0xf0) return this.expect(3, 0x90, 0xbf); // no overlong 4-byte forms
      if (b >= 0xf1 && b <= 0xf3) return this.expect(3, 0x80, 0xbf);
      if (b === 0xf4) return this.expect(3, 0x80, 0x8f); // nothing above U+10FFFF
      return false; // 80-C1 cannot start a code point, F5-FF never appear
    }
    if (b < this.lower || b > this.upper) return false;
    this.need--;
    this.lower = 0x80;
    this.upper = 0xbf;
    return true;
  }

  private expect(need: number, lower: number, upper: number): boolean {
    this.need = need;
    this.lower = lower;
    this.upper = upper;
    return true;
  }
}
