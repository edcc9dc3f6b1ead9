import { encodeClosePayload, parseClosePayload, truncateReason } from './close.js';
import { CloseCode, DEFAULT_MAX_MESSAGE_SIZE, MAX_CONTROL_PAYLOAD, Opcode } from './constants.js';
import { InvalidStateError, ProtocolError } from './errors.js';
import { type EncodeOptions, encodeFrame, encodeTextFrame } from './frame-encoder.js';
import { type FrameHeader, FrameParser, type FrameSink } from './frame-parser.js';
import { MaskKeyPool, type RandomFill } from './mask.js';
import { MessageBuffer } from './message-buffer.js';
import { Utf8Validator } from './utf8.js';

/**
 * Validates and decodes in one pass (faster than isUtf8 then toString for the
 * common case of a text message that arrives whole). ignoreBOM keeps a leading
 * U+FEFF: it is part of the message.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The WebSocket connection state machine after the opening handshake, without
 * I/O: feed it received bytes with receive(); it calls its handler with messages
 * and control events, and with the bytes to send. States follow RFC 6455
 * section 7: OPEN -> CLOSING (our Close sent) -> CLOSED (both Close frames seen,
 * or the connection failed). Closing the TCP connection is the handler's job;
 * closeTransport() says when this side should do it (RFC 6455 section 7.1.1:
 * the server closes first).
 */

export type Role = 'client' | 'server';
export type ConnectionState = 'open' | 'closing' | 'closed';

export interface ConnectionHandler {
  /** Bytes to send, in order. */
  write(data: Buffer): void;
  onText(text: string): void;
  onBinary(data: Buffer): void;
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** The peer's Close frame arrived; code is 1005 when it carried none. */
  onCloseFrame(code: number, reason: string): void;
  /** The peer broke the protocol; a Close frame with error.closeCode has been sent. */
  onProtocolError(error: ProtocolError): void;
  /** This side should now close the TCP connection. */
  closeTransport(): void;
  /**
   * A complete compressed message (RSV1). Reading is paused until the
   * transport calls deliverInflated() or fail(): zlib is asynchronous, and
   * nothing received later may overtake this message.
   */
  onCompressedMessage?(payload: Buffer, isText: boolean): void;
  /**
   * Optional, with autoPong: may the automatic pong to this ping be written
   * now? A transport whose peer is not reading answers false and later sends
   * one pong() for the most recent ping only, which RFC 6455 section 5.5.3
   * allows; so pings from a peer that never reads cannot grow the send buffer.
   */
  canPong?(payload: Buffer): boolean;
}

export interface ConnectionOptions {
  role: Role;
  /** Largest message accepted, in bytes, after reassembly (default 64 MiB). */
  maxMessageSize?: number;
  /** Largest single frame accepted, in bytes (default: maxMessageSize). */
  maxFrameSize?: number;
  /** Answer pings with pongs automatically (default true). */
  autoPong?: boolean;
  /** Randomness for client masking keys (default: crypto.getRandomValues). */
  randomFill?: RandomFill;
  /** permessage-deflate is in use: RSV1 marks compressed messages. */
  compression?: boolean;
}

type DataKind = typeof Opcode.Text | typeof Opcode.Binary;

export class Connection implements FrameSink {
  state: ConnectionState = 'open';
  readonly role: Role;
  /** Set once a Close frame has been sent / received. */
  closeSent = false;
  closeReceived = false;
  /** The peer's close code and reason, once its Close frame arrived. */
  peerCloseCode: number | undefined;
  peerCloseReason = '';
  /** The protocol error that failed the connection, if any. */
  failure: ProtocolError | undefined;

  private readonly parser: FrameParser;
  private readonly maxMessageSize: number;
  private readonly autoPong: boolean;
  private readonly encodeOptions: EncodeOptions;

  // Incoming frame and message being read.
  private frame: FrameHeader | null = null;
  private messageKind: DataKind | 0 = 0;
  private messageCompressed = false;
  private messageLength = 0;
  // Created on first use: most connections never see a fragmented or split
  // message, and idle ones are many.
  private messageBufferStore: MessageBuffer | null = null;
  /** A single-frame message received in one piece: delivered without a copy. */
  private wholePayload: Buffer | null = null;
  private utf8Store: Utf8Validator | null = null;
  private control: Buffer | null = null;
  private controlFilled = 0;

  private get messageBuffer(): MessageBuffer {
    return (this.messageBufferStore ??= new MessageBuffer());
  }

  private get utf8(): Utf8Validator {
    return (this.utf8Store ??= new Utf8Validator());
  }

  /** Kind of the fragmented message we are sending, if one is unfinished. */
  private sendingKind: DataKind | 0 = 0;

  constructor(
    private readonly handler: ConnectionHandler,
    options: ConnectionOptions,
  ) {
    this.role = options.role;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.autoPong = options.autoPong ?? true;
    this.parser = new FrameParser(this, {
      expectMasked: options.role === 'server',
      maxFrameSize: Math.min(options.maxFrameSize ?? this.maxMessageSize, this.maxMessageSize),
    });
    this.parser.rsv1Allowed = options.compression === true;
    this.encodeOptions = {
      fin: true,
      rsv1: false,
      maskKeys: options.role === 'client' ? new MaskKeyPool(options.randomFill) : undefined,
    };
  }

  /** Feed bytes received from the peer. */
  receive(chunk: Buffer): void {
    this.parser.push(chunk);
  }

  // ---- sending ---------------------------------------------------------------

  /** Send a text message, or one fragment of it when fin is false. */
  sendText(text: string, fin = true): void {
    const opcode = this.beginDataFrame(Opcode.Text, fin);
    if (opcode === Opcode.Text) {
      this.writeAll(encodeTextFrame(text, this.frameOptions(fin)));
    } else {
      this.writeAll(encodeFrame(opcode, Buffer.from(text), this.frameOptions(fin)));
    }
  }

  /** Send a binary message, or one fragment of it when fin is false. */
  sendBinary(data: Uint8Array, fin = true): void {
    const opcode = this.beginDataFrame(Opcode.Binary, fin);
    this.writeAll(encodeFrame(opcode, data, this.frameOptions(fin)));
  }

  /** Send a whole message already compressed with permessage-deflate (RSV1 set). */
  sendCompressed(isBinary: boolean, deflated: Uint8Array): void {
    const opcode = this.beginDataFrame(isBinary ? Opcode.Binary : Opcode.Text, true);
    this.writeAll(encodeFrame(opcode, deflated, { ...this.encodeOptions, rsv1: true }));
  }

  /**
   * The transport inflated the message handed to onCompressedMessage: check it
   * like any message (size, UTF-8), deliver it, and read on.
   */
  deliverInflated(data: Buffer, isText: boolean): void {
    if (this.state === 'closed' && this.failure) return;
    if (data.length > this.maxMessageSize) {
      return this.fail(
        CloseCode.MessageTooBig,
        `message of more than ${this.maxMessageSize} bytes exceeds the limit`,
      );
    }
    if (isText) {
      if (!this.utf8.push(data) || !this.utf8.complete) {
        this.utf8.reset();
        return this.fail(CloseCode.InvalidPayload, 'text message is not valid UTF-8');
      }
      this.utf8.reset();
      this.handler.onText(data.toString('utf8'));
    } else {
      this.handler.onBinary(data);
    }
    this.parser.resume();
  }

  ping(payload: Uint8Array = Buffer.alloc(0)): void {
    this.sendControl(Opcode.Ping, payload);
  }

  pong(payload: Uint8Array = Buffer.alloc(0)): void {
    this.sendControl(Opcode.Pong, payload);
  }

  /**
   * Start (or answer) the closing handshake. Codes are not checked here: the
   * public API restricts what applications may send; the library may send any
   * code valid on the wire. Does nothing if our Close frame was already sent.
   */
  close(code: number = CloseCode.Normal, reason = ''): void {
    if (this.closeSent || this.state === 'closed') return;
    this.sendCloseFrame(code, reason);
    if (this.closeReceived) {
      this.state = 'closed';
      if (this.role === 'server') this.handler.closeTransport();
    } else {
      this.state = 'closing';
    }
  }

  /** Fail the connection from this side (RFC 6455 section 7.1.7). */
  fail(code: number, reason: string): void {
    this.failWith(new ProtocolError(code, reason));
  }

  private beginDataFrame(kind: DataKind, fin: boolean): number {
    if (this.state !== 'open') {
      throw new InvalidStateError(`cannot send: the connection is ${this.state}`);
    }
    let opcode: number = kind;
    if (this.sendingKind !== 0) {
      if (this.sendingKind !== kind) {
        throw new InvalidStateError(
          'a fragmented message of the other type is unfinished; end it with fin: true first',
        );
      }
      opcode = Opcode.Continuation;
    }
    this.sendingKind = fin ? 0 : kind;
    return opcode;
  }

  private frameOptions(fin: boolean): EncodeOptions {
    if (fin) return this.encodeOptions;
    return { ...this.encodeOptions, fin: false };
  }

  private sendControl(opcode: number, payload: Uint8Array): void {
    if (this.state !== 'open') {
      throw new InvalidStateError(`cannot send a control frame: the connection is ${this.state}`);
    }
    if (payload.length > MAX_CONTROL_PAYLOAD) {
      throw new RangeError(`control frame payload must be at most 125 bytes; got ${payload.length}`);
    }
    this.writeAll(encodeFrame(opcode, payload, this.encodeOptions));
  }

  private sendCloseFrame(code: number, reason: string): void {
    this.closeSent = true;
    this.writeAll(encodeFrame(Opcode.Close, encodeClosePayload(code, reason), this.encodeOptions));
  }

  private writeAll(buffers: Buffer[]): void {
    for (const b of buffers) this.handler.write(b);
  }

  private failWith(error: ProtocolError): void {
    if (this.state === 'closed') return;
    this.parser.stop();
    this.failure = error;
    this.resetMessage();
    if (!this.closeSent) this.sendCloseFrame(error.closeCode, truncateReason(error.message));
    this.state = 'closed';
    this.handler.onProtocolError(error);
    this.handler.closeTransport();
  }

  // ---- receiving (FrameSink) -------------------------------------------------

  onFrameError(code: number, reason: string): void {
    this.failWith(new ProtocolError(code, reason));
  }

  onFrameStart(header: FrameHeader): void {
    const { opcode } = header;
    if (header.rsv1 && (opcode >= 0x8 || opcode === Opcode.Continuation)) {
      return this.fail(
        CloseCode.ProtocolError,
        `RSV1 set on a ${opcode >= 0x8 ? 'control' : 'continuation'} frame (only a message's first frame may carry it)`,
      );
    }
    if (opcode >= 0x8) {
      this.frame = header;
      this.control = null;
      this.controlFilled = 0;
      return;
    }
    if (opcode === Opcode.Continuation) {
      if (this.messageKind === 0) {
        return this.fail(CloseCode.ProtocolError, 'continuation frame without a message to continue');
      }
    } else if (this.messageKind !== 0) {
      return this.fail(CloseCode.ProtocolError, 'new data frame while a fragmented message is unfinished');
    } else {
      this.messageKind = opcode as DataKind;
      this.messageCompressed = header.rsv1;
    }
    if (this.messageLength + header.length > this.maxMessageSize) {
      return this.fail(
        CloseCode.MessageTooBig,
        `message of more than ${this.maxMessageSize} bytes exceeds the limit`,
      );
    }
    this.frame = header;
    this.messageLength += header.length;
    // A single-frame message that arrives whole is delivered as a view; otherwise
    // payload bytes are copied into the reassembly buffer as they come. The
    // declared length is reserved only up to twice the bytes that came: a header
    // costs the peer 14 bytes, so memory follows the payload that actually
    // arrives (issue 11, item 6).
  }

  onFrameData(data: Buffer, isWholePayload: boolean): void {
    const frame = this.frame!;
    if (frame.opcode >= 0x8) {
      if (isWholePayload) {
        this.control = data;
      } else {
        this.control ??= Buffer.allocUnsafe(frame.length);
        this.control.set(data, this.controlFilled);
      }
      this.controlFilled += data.length;
      return;
    }
    if (isWholePayload && frame.fin && frame.opcode !== Opcode.Continuation) {
      // The whole message is here at once: its text is validated as it is decoded.
      this.wholePayload = data;
      return;
    }
    // Pieces of text are checked as they arrive, to fail fast; compressed text after inflating.
    if (this.messageKind === Opcode.Text && !this.messageCompressed && !this.utf8.push(data)) {
      return this.fail(CloseCode.InvalidPayload, 'text message is not valid UTF-8');
    }
    // messageLength already counts this frame's announced length: where it ends.
    this.messageBuffer.append(data, this.maxMessageSize, this.messageLength);
  }

  onFrameEnd(): void {
    const frame = this.frame!;
    this.frame = null;
    if (frame.opcode >= 0x8) return this.handleControl(frame.opcode);
    if (!frame.fin) return;
    const kind = this.messageKind;
    const whole = this.wholePayload !== null;
    const payload = this.wholePayload ?? this.messageBuffer.take();
    const textEndsCleanly = this.utf8Store?.complete ?? true;
    const compressed = this.messageCompressed;
    this.resetMessage();
    if (compressed && this.handler.onCompressedMessage) {
      this.parser.pause();
      this.handler.onCompressedMessage(payload, kind === Opcode.Text);
      return;
    }
    if (kind === Opcode.Text) {
      if (whole) {
        let text: string;
        try {
          text = strictUtf8.decode(payload);
        } catch {
          return this.fail(CloseCode.InvalidPayload, 'text message is not valid UTF-8');
        }
        this.handler.onText(text);
        return;
      }
      if (!textEndsCleanly) {
        return this.fail(CloseCode.InvalidPayload, 'text message ends inside a UTF-8 sequence');
      }
      this.handler.onText(payload.toString('utf8'));
    } else {
      this.handler.onBinary(payload);
    }
  }

  private resetMessage(): void {
    this.messageKind = 0;
    this.messageCompressed = false;
    this.messageLength = 0;
    this.wholePayload = null;
    this.messageBufferStore?.clear();
    this.utf8Store?.reset();
  }

  private handleControl(opcode: number): void {
    const payload = this.control ?? Buffer.alloc(0);
    this.control = null;
    if (opcode === Opcode.Ping) {
      // After our Close frame we send nothing more, pongs included.
      if (this.autoPong && this.state === 'open' && (this.handler.canPong?.(payload) ?? true)) {
        this.writeAll(encodeFrame(Opcode.Pong, payload, this.encodeOptions));
      }
      this.handler.onPing(payload);
    } else if (opcode === Opcode.Pong) {
      this.handler.onPong(payload);
    } else {
      this.handleClose(payload);
    }
  }

  private handleClose(payload: Buffer): void {
    let code: number;
    let reason: string;
    try {
      ({ code, reason } = parseClosePayload(payload));
    } catch (error) {
      return this.failWith(error as ProtocolError);
    }
    // Nothing after a Close frame counts (RFC 6455 section 5.5.1).
    this.parser.stop();
    this.closeReceived = true;
    this.peerCloseCode = code;
    this.peerCloseReason = reason;
    this.resetMessage();
    if (!this.closeSent) {
      this.sendCloseFrame(code, reason);
    }
    this.state = 'closed';
    this.handler.onCloseFrame(code, reason);
    if (this.role === 'server') this.handler.closeTransport();
  }
}
