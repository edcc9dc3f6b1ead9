import { CloseCode, MAX_CONTROL_PAYLOAD } from './constants.js';
import { frameHeaderLength, INVALID_LENGTH, readPayloadLength } from './frame-header.js';
import { applyMask } from './mask.js';

/**
 * Incremental frame decoder (RFC 6455 section 5.2). Bytes may arrive in chunks of
 * any size, down to one byte at a time. It enforces the structural rules it can
 * judge from a header alone, as soon as the bytes that break them arrive, and
 * streams each payload to its sink unmasked, in as few pieces as the chunks allow.
 * Message-level rules (fragmentation, sizes, UTF-8) belong to the sink.
 */

export interface FrameHeader {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  /** Payload length in bytes (below 2^53 once accepted). */
  length: number;
}

export interface FrameSink {
  /** A header was read. Called before any payload byte is buffered. */
  onFrameStart(header: FrameHeader): void;
  /** Unmasked payload bytes. A view into the received chunk: copy to keep beyond the call. */
  onFrameData(data: Buffer, isWholePayload: boolean): void;
  onFrameEnd(): void;
  /** The peer broke a framing rule; the parser has stopped. */
  onFrameError(code: number, reason: string): void;
}

export interface FrameParserOptions {
  /** Servers require masked frames; clients require unmasked ones. */
  expectMasked: boolean;
  /** Largest accepted frame payload; bigger frames fail with 1009. */
  maxFrameSize: number;
}

enum State {
  Header,
  Payload,
  Stopped,
}

export class FrameParser {
  private state = State.Header;
  /** Header bytes collected across chunks (at most 14). */
  // Allocated on first use: most headers arrive whole, and idle connections are many.
  private headerBytesStore: Buffer | null = null;
  private headerFilled = 0;
  private readonly maskKey = [0, 0, 0, 0];
  private masked = false;
  private remaining = 0;
  /** Payload bytes of the current frame already passed on; also the masking phase. */
  private delivered = 0;
  /** RSV1 is legal only while an extension that defines it is in use. */
  rsv1Allowed = false;
  /** While paused, input is kept, in order, until resume(). */
  private paused = false;
  private backlog: Buffer[] | null = null;

  constructor(
    private readonly sink: FrameSink,
    private readonly options: FrameParserOptions,
  ) {}

  /** Stop decoding for good: later input is ignored (after a close or a failure). */
  stop(): void {
    this.state = State.Stopped;
  }

  get stopped(): boolean {
    return this.state === State.Stopped;
  }

  /**
   * Stop reading after the current frame (e.g. while a compressed message is
   * being inflated): bytes already received and any that arrive later wait,
   * so messages and control frames keep their order.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    while (!this.paused && this.backlog && this.backlog.length > 0 && this.state !== State.Stopped) {
      this.push(this.backlog.shift()!);
    }
  }

  /** Bytes waiting while paused. */
  get backlogLength(): number {
    return this.backlog?.reduce((n, b) => n + b.length, 0) ?? 0;
  }

  push(chunk: Buffer): void {
    if (this.paused) {
      (this.backlog ??= []).push(chunk);
      return;
    }
    let offset = 0;
    const end = chunk.length;
    while (offset < end && this.state !== State.Stopped) {
      if (this.state === State.Header) {
        offset = this.readHeader(chunk, offset);
      } else {
        offset = this.readPayload(chunk, offset);
      }
      // (The sink may have paused or stopped us during the step.)
      if (this.paused && offset < end && (this.state as State) !== State.Stopped) {
        // The rest of this chunk comes before anything already waiting.
        (this.backlog ??= []).unshift(chunk.subarray(offset));
        return;
      }
    }
  }

  private fail(code: number, reason: string): number {
    this.state = State.Stopped;
    this.sink.onFrameError(code, reason);
    return Number.MAX_SAFE_INTEGER;
  }

  private get headerBytes(): Buffer {
    return this.headerBytesStore!;
  }

  private readHeader(chunk: Buffer, offset: number): number {
    let source: Buffer;
    let at: number;
    let consumed: number;
    const available = chunk.length - offset;
    if (this.headerFilled === 0 && available >= 2 && available >= frameHeaderLength(chunk[offset + 1]!)) {
      // Common case: the whole header is in this chunk.
      source = chunk;
      at = offset;
      consumed = frameHeaderLength(chunk[offset + 1]!);
    } else {
      // Collect byte by byte into headerBytes; check the first two as soon as they are in.
      this.headerBytesStore ??= Buffer.alloc(14);
      while (this.headerFilled < 2 && offset < chunk.length) {
        this.headerBytes[this.headerFilled++] = chunk[offset++]!;
      }
      if (this.headerFilled < 2) return offset;
      if (this.headerFilled === 2 && !this.checkFirstBytes(this.headerBytes[0]!, this.headerBytes[1]!)) {
        return Number.MAX_SAFE_INTEGER;
      }
      const need = frameHeaderLength(this.headerBytes[1]!);
      while (this.headerFilled < need && offset < chunk.length) {
        this.headerBytes[this.headerFilled++] = chunk[offset++]!;
      }
      if (this.headerFilled < need) return offset;
      source = this.headerBytes;
      at = 0;
      consumed = 0;
      this.headerFilled = 0;
    }
    const b0 = source[at]!;
    const b1 = source[at + 1]!;
    if (source === chunk && !this.checkFirstBytes(b0, b1)) return Number.MAX_SAFE_INTEGER;

    const length = readPayloadLength(source, at);
    if (length === INVALID_LENGTH) {
      return this.fail(CloseCode.ProtocolError, '64-bit payload length with the most significant bit set');
    }
    if (length > this.options.maxFrameSize) {
      return this.fail(
        CloseCode.MessageTooBig,
        `frame of ${length} bytes exceeds the limit of ${this.options.maxFrameSize}`,
      );
    }
    this.masked = (b1 & 0x80) !== 0;
    if (this.masked) {
      // The masking key is the header's last 4 bytes.
      const p = at + frameHeaderLength(b1) - 4;
      this.maskKey[0] = source[p]!;
      this.maskKey[1] = source[p + 1]!;
      this.maskKey[2] = source[p + 2]!;
      this.maskKey[3] = source[p + 3]!;
    }
    this.remaining = length;
    this.delivered = 0;
    this.state = State.Payload;
    this.sink.onFrameStart({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, length });
    if (this.state === State.Payload && length === 0) this.finishFrame();
    return offset + consumed;
  }

  /** Rules that the first two header bytes alone decide. */
  private checkFirstBytes(b0: number, b1: number): boolean {
    const opcode = b0 & 0x0f;
    if ((b0 & 0x40 && !this.rsv1Allowed) || b0 & 0x30) {
      this.fail(CloseCode.ProtocolError, 'reserved bits set without a negotiated extension');
      return false;
    }
    if ((opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xb) {
      this.fail(CloseCode.ProtocolError, `reserved opcode 0x${opcode.toString(16)}`);
      return false;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.options.expectMasked) {
      this.fail(
        CloseCode.ProtocolError,
        this.options.expectMasked ? 'client frames must be masked' : 'server frames must not be masked',
      );
      return false;
    }
    if (opcode >= 0x8) {
      if (!(b0 & 0x80)) {
        this.fail(CloseCode.ProtocolError, 'fragmented control frame');
        return false;
      }
      if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD) {
        this.fail(CloseCode.ProtocolError, 'control frame payload longer than 125 bytes');
        return false;
      }
    }
    return true;
  }

  private readPayload(chunk: Buffer, offset: number): number {
    const take = Math.min(this.remaining, chunk.length - offset);
    const end = offset + take;
    if (this.masked) applyMask(chunk, offset, end, this.maskKey, 0, this.delivered & 3);
    const whole = take === this.remaining && this.delivered === 0;
    this.delivered += take;
    this.remaining -= take;
    this.sink.onFrameData(chunk.subarray(offset, end), whole);
    if (this.remaining === 0 && this.state === State.Payload) this.finishFrame();
    return end;
  }

  private finishFrame(): void {
    this.state = State.Header;
    this.sink.onFrameEnd();
  }
}
