import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Utf8Validator } from '../../src/protocol/utf8.js';

function validateInPieces(bytes: Buffer, cuts: number[]): boolean {
  const v = new Utf8Validator();
  let start = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    if (!v.push(bytes, start, cut)) return false;
    start = cut;
  }
  return v.complete;
}

describe('Utf8Validator', () => {
  const valid = [
    '',
    'hello',
    'κόσμε',
    '€uro',
    '\u{10ffff}',
    '\u{1f600} emoji',
    '\ud7ff\ue000', // either side of the surrogate range
  ];
  for (const s of valid) {
    test(`valid: ${JSON.stringify(s)} in every split`, () => {
      const bytes = Buffer.from(s);
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) assert.ok(validateInPieces(bytes, [i, j]), `split ${i},${j}`);
      }
    });
  }

  const invalid: Array<[string, number[]]> = [
    ['lone continuation', [0x80]],
    ['overlong 2-byte', [0xc0, 0x80]],
    ['overlong 3-byte', [0xe0, 0x80, 0x80]],
    ['overlong 4-byte', [0xf0, 0x80, 0x80, 0x80]],
    ['surrogate', [0xed, 0xa0, 0x80]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['F5 lead byte', [0xf5, 0x80, 0x80, 0x80]],
    ['FF byte', [0xff]],
    ['truncated then ASCII', [0xe2, 0x82, 0x41]],
  ];
  for (const [name, bytes] of invalid) {
    test(`invalid: ${name}, whatever the split`, () => {
      const b = Buffer.from([0x61, ...bytes, 0x62]);
      for (let i = 0; i <= b.length; i++) assert.equal(validateInPieces(b, [i]), false);
    });
  }

  test('rejects at the first bad byte, not at the end', () => {
    const v = new Utf8Validator();
    assert.equal(v.push(Buffer.from([0xf4])), true);
    assert.equal(v.push(Buffer.from([0x90])), false, 'F4 90 can never be valid');
  });

  test('an unfinished code point is not complete', () => {
    const v = new Utf8Validator();
    assert.equal(v.push(Buffer.from([0xe2, 0x82])), true);
    assert.equal(v.complete, false);
  });

  test('agrees with the TextDecoder on random bytes in random pieces', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(64), { maxLength: 5 }), (bytes, cuts) => {
        let expected = true;
        try {
          decoder.decode(bytes);
        } catch {
          expected = false;
        }
        assert.equal(validateInPieces(Buffer.from(bytes), cuts), expected);
      }),
      { numRuns: 3000 },
    );
  });

  test('valid text stays valid in random pieces', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.array(fc.nat(200), { maxLength: 6 }),
        (s, cuts) => {
          assert.ok(validateInPieces(Buffer.from(s), cuts));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
