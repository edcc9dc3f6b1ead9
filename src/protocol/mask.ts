/**
 * XOR masking (RFC 6455 section 5.3). The middle of the payload is processed as
 * 32-bit words over an aligned view, which is several times faster than a byte
 * loop in V8; the word is assembled through a scratch array, so the code is
 * correct on either endianness.
 */

const scratch = new Uint8Array(4);
const scratchWord = new Uint32Array(scratch.buffer);
/** Below this size the byte loop wins over creating a typed-array view. */
const WORD_LOOP_THRESHOLD = 32;

/**
 * XOR `data[start..end)` in place with the 4-byte key at `key[keyOffset..]`,
 * where `data[start]` lines up with key byte number `phase` (0-3).
 */
export function applyMask(
  data: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
  keyOffset: number,
  phase: number,
): void {
  const k0 = key[keyOffset]!;
  const k1 = key[keyOffset + 1]!;
  const k2 = key[keyOffset + 2]!;
  const k3 = key[keyOffset + 3]!;
  const keyByte = (i: number): number => {
    const p = i & 3;
    return p === 0 ? k0 : p === 1 ? k1 : p === 2 ? k2 : k3;
  };
  let i = start;
  if (end - start < WORD_LOOP_THRESHOLD) {
    for (; i < end; i++) data[i]! ^= keyByte(phase + i - start);
    return;
  }
  // Bytes until the absolute address is 4-aligned.
  const misalign = (data.byteOffset + i) & 3;
  const head = misalign === 0 ? i : i + 4 - misalign;
  for (; i < head; i++) data[i]! ^= keyByte(phase + i - start);
  const p = phase + head - start;
  scratch[0] = keyByte(p);
  scratch[1] = keyByte(p + 1);
  scratch[2] = keyByte(p + 2);
  scratch[3] = keyByte(p + 3);
  const word = scratchWord[0]!;
  const words = (end - head) >>> 2;
  const view = new Uint32Array(data.buffer, data.byteOffset + head, words);
  for (let w = 0; w < words; w++) view[w]! ^= word;
  i = head + words * 4;
  for (; i < end; i++) data[i]! ^= keyByte(phase + i - start);
}

/** A source of random bytes for masking keys and handshake nonces. */
export type RandomFill = (target: Uint8Array) => void;

export const defaultRandomFill: RandomFill = (target) => {
  globalThis.crypto.getRandomValues(target);
};

/**
 * Hands out fresh 4-byte masking keys from a pool refilled in bulk: one call into
 * the CSPRNG per 2048 frames instead of one per frame. Keys are never reused.
 */
export class MaskKeyPool {
  private readonly pool = new Uint8Array(8192);
  private offset = this.pool.length;

  constructor(private readonly fill: RandomFill = defaultRandomFill) {}

  /** Copy a fresh key into target[at..at+4). */
  writeKey(target: Uint8Array, at: number): void {
    if (this.offset === this.pool.length) {
      this.fill(this.pool);
      this.offset = 0;
    }
    const o = this.offset;
    target[at] = this.pool[o]!;
    target[at + 1] = this.pool[o + 1]!;
    target[at + 2] = this.pool[o + 2]!;
    target[at + 3] = this.pool[o + 3]!;
    this.offset = o + 4;
  }
}
