/** The sans-I/O protocol core: bytes in, events and bytes out. No sockets, no timers. */
export {
  assertCloseReason,
  assertUserCloseCode,
  encodeClosePayload,
  isValidWireCloseCode,
  parseClosePayload,
} from './close.js';
export {
  Connection,
  type ConnectionHandler,
  type ConnectionOptions,
  type ConnectionState,
  type Role,
} from './connection.js';
export { CloseCode, DEFAULT_MAX_MESSAGE_SIZE, Opcode, WEBSOCKET_GUID } from './constants.js';
export { HandshakeError, InvalidStateError, ProtocolError } from './errors.js';
export { encodeFrame, encodeTextFrame } from './frame-encoder.js';
export { frameHeaderLength, INVALID_LENGTH, readPayloadLength } from './frame-header.js';
export { type FrameHeader, FrameParser, type FrameSink } from './frame-parser.js';
export {
  buildAcceptResponse,
  buildRejectResponse,
  buildRequestHeaders,
  computeAccept,
  generateKey,
  validateClientRequest,
  validateServerResponse,
} from './handshake.js';
export { type ExtensionOffer, formatExtensions, parseExtensions } from './headers.js';
export { applyMask, MaskKeyPool } from './mask.js';
export { Utf8Validator } from './utf8.js';
