/**
 * The symbol-keyed hooks src/node's modules use on each other's objects, kept
 * off the public API. This module imports nothing, so any module may use it
 * without creating an import cycle; nothing outside src/node may import it
 * (test/protocol/layering.test.ts checks both).
 */

/** WebSocket: take over an upgraded socket (server) or a handshaken one (client). */
export const kAttach = Symbol('attach');
/** WebSocket: write a frame encoded once for many connections (broadcast/publish). */
export const kWriteFrame = Symbol('writeFrame');
/** WebSocket: close with a Close frame without status code (the peer sees 1005). */
export const kCloseWithoutStatus = Symbol('closeWithoutStatus');
/** WebSocket: close with any code valid on the wire (the library's own 1001, 1013, ...). */
export const kCloseUnchecked = Symbol('closeUnchecked');
/** WebSocket: how the connection ended, for the WHATWG API's CloseEvent. */
export const kPeerClose = Symbol('peerClose');
/** WebSocket: who is told as it starts closing and once it closed (its server; one object per server). */
export const kConnectionOwner = Symbol('connectionOwner');
/** WebSocket: the client handshake failed. */
export const kFailHandshake = Symbol('failHandshake');
/** WebSocket: a redirect replaces the handshake in progress. */
export const kRestartHandshake = Symbol('restartHandshake');
/** Constructor argument of server-side sockets: no client handshake to start. */
export const kServerSide = Symbol('serverSide');

// Heartbeat bookkeeping (see heartbeat.ts), in coarse-clock milliseconds.
export const kLastReceived = Symbol('lastReceived');
export const kLastMessage = Symbol('lastMessage');
export const kPingSentAt = Symbol('pingSentAt');
export const kHeartbeatPing = Symbol('heartbeatPing');
export const kHeartbeatTimeout = Symbol('heartbeatTimeout');
export const kIdleTimeout = Symbol('idleTimeout');
