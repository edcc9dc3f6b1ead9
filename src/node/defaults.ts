import { DEFAULT_MAX_MESSAGE_SIZE } from '../protocol/constants.js';

/**
 * Every default of src/node, in one place: option documentation, checks and
 * code read their values from here, so that a default changes in one line.
 */

/** Largest value Node's timers accept (ms), and the cap on counts such as maxConnections. */
export const MAX_INT32 = 2 ** 31 - 1;

/** Largest buffer Node can allocate; a byte limit above it could never be honoured. */
export const MAX_BUFFER = 2 ** 32;

export const DEFAULTS = {
  /** Largest message accepted (both ends). */
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  /** ms to wait for the closing handshake before dropping TCP. */
  closeTimeout: 30_000,
  autoPong: true,
  /** send() returns false at this many buffered bytes... */
  highWaterMark: 64 * 1024,
  /** ...and 'drain' fires when the buffer falls to this many. */
  lowWaterMark: 16 * 1024,
  /** Server: the slow-consumer cap (bytes buffered for one connection). */
  serverMaxBufferedAmount: 16 * 1024 * 1024,
  /** Client: no cap (the application is its own consumer's only producer). */
  clientMaxBufferedAmount: 0,
  slowConsumer: 'close' as 'close' | 'drop',
  /** Server: ping a connection quiet for this many ms (0: off). */
  serverHeartbeatInterval: 30_000,
  /** Client: no heartbeats unless asked. */
  clientHeartbeatInterval: 0,
  /** ms a pinged peer has to send anything back. */
  heartbeatTimeout: 10_000,
  /** ms without a data message before 1001 (0: never). */
  idleTimeout: 0,
  /** Data messages and pings per second (0: no limit). */
  maxMessageRate: 0,
  maxConnections: 0,
  maxConnectionsPerIp: 0,
  /** Standalone servers: ms for the request head (slowloris guard). */
  requestHeadTimeout: 10_000,
  /** Standalone servers: bytes of request head; more gets 431. */
  maxHeaderSize: 16 * 1024,
  /** ms a refused handshake's socket may linger while the client reads the answer. */
  rejectLinger: 5000,
  /** Client: ms for TCP/TLS connect and the opening handshake together. */
  handshakeTimeout: 30_000,
  followRedirects: 0,
  /** Client: offer permessage-deflate. Server: off (a context costs memory per connection). */
  clientPerMessageDeflate: true,
  serverPerMessageDeflate: false,
  /** permessage-deflate: messages below this many bytes go uncompressed. */
  deflateThreshold: 1024,
  /** zlib level 1: most of the gain for little CPU. */
  deflateLevel: 1,
  deflateMemLevel: 8,
  /** Concurrent zlib jobs in the process (each holds a window in the thread pool). */
  maxConcurrentZlib: 10,
  /** ReconnectingWebSocket. */
  reconnectInitialDelay: 500,
  reconnectMaxDelay: 30_000,
  reconnectMaxAttempts: 0,
  reconnectMaxQueued: 1000,
  reconnectStopCodes: [1000, 1002, 1003, 1007, 1008, 1009, 1010] as readonly number[],
  /** for await: pause the socket at this many unread messages, resume at the second. */
  iteratorPauseAt: 64,
  iteratorResumeAt: 16,
} as const;

/**
 * Write joining thresholds. Two different jobs, two different sizes:
 * a received chunk's replies are joined up to 64 KiB (one syscall, copying is
 * cheap next to it); a broadcast frame's header and payload are joined below
 * 16 KiB, where one write per socket beats a writev of two buffers.
 */
export const JOIN_BATCH_BELOW = 64 * 1024;
export const JOIN_BROADCAST_BELOW = 16 * 1024;

/** How much of a non-101 answer's body the client keeps for its error. */
export const MAX_ERROR_BODY = 4096;
