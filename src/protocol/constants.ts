/** Frame opcodes (RFC 6455 section 5.2). 0x3-0x7 and 0xB-0xF are reserved. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** The GUID every endpoint appends to Sec-WebSocket-Key (RFC 6455 section 1.3). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The only protocol version RFC 6455 defines. */
export const WEBSOCKET_VERSION = '13';

/** Control frames carry at most 125 bytes of payload (RFC 6455 section 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Close reasons share the 125 bytes with the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** 64 MiB: generous for real applications, small enough that one client cannot exhaust memory. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** Close codes with a registered meaning (RFC 6455 section 7.4.1). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  TlsHandshake: 1015,
} as const;
