/**
 * Reassembly buffer for fragmented messages. Capacity doubles as fragments
 * arrive, so reassembling n bytes copies at most ~2n bytes whatever the number
 * of fragments, and the only bookkeeping is one Buffer and a length: 65,536
 * fragments of 64 bytes cost what one 4 MiB frame costs.
 */
export class MessageBuffer {
  private buffer: Buffer | null = null;
  private used = 0;

  get length(): number {
    return this.used;
  }

  /**
   * Make room for `extra` more bytes without growing past `limit` (the size cap).
   * `frameEnd` is where the frame being received ends, as its header announced:
   * growth may reach it early, but never past twice the bytes that have come —
   * so a frame split over two socket reads is copied once, into a buffer of
   * exactly its size, while a header alone still reserves nothing.
   */
  reserve(extra: number, limit: number, frameEnd = 0): void {
    const need = this.used + extra;
    const capacity = this.buffer?.length ?? 0;
    if (need <= capacity) return;
    const ahead = Math.min(frameEnd, need * 2);
    const grown = Math.max(need, Math.min(Math.max(capacity * 2, ahead), limit));
    const next = Buffer.allocUnsafe(grown);
    if (this.buffer) this.buffer.copy(next, 0, 0, this.used);
    this.buffer = next;
  }

  /**
   * Append bytes, growing (doubling, up to `limit`) for the bytes that came:
   * a header's announced length is only used up to twice the bytes received.
   */
  append(data: Uint8Array, limit = Number.MAX_SAFE_INTEGER, frameEnd = 0): void {
    this.reserve(data.length, limit, frameEnd);
    this.buffer!.set(data, this.used);
    this.used += data.length;
  }

  /**
   * Hand over the bytes and start empty. When doubling left much unused capacity
   * the bytes are copied to an exact-size buffer, so a kept message does not pin
   * up to twice its size.
   */
  take(): Buffer {
    const buffer = this.buffer;
    const used = this.used;
    this.buffer = null;
    this.used = 0;
    if (!buffer) return Buffer.alloc(0);
    if (buffer.length - used > 4096 && buffer.length > used * 1.25) {
      return Buffer.from(buffer.subarray(0, used));
    }
    return buffer.subarray(0, used);
  }

  clear(): void {
    this.buffer = null;
    this.used = 0;
  }
}
