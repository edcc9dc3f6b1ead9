import { Duplex, type DuplexOptions } from 'node:stream';
import { WebSocket } from './websocket.js';

/**
 * A Node Duplex stream over a WebSocket, as ws's createWebSocketStream: each
 * message read becomes a chunk, each chunk written is sent as a binary message
 * (strings as text). Reading the stream slowly pauses the socket (TCP
 * backpressure); ending it closes the connection; destroying it terminates.
 */
export function createWebSocketStream(ws: WebSocket, options: DuplexOptions = {}): Duplex {
  const duplex = new Duplex({ ...options, autoDestroy: false, emitClose: false });
  ws.on('message', (data) => {
    if (!duplex.push(data)) ws.pause();
  });
  ws.once('close', () => {
    if (!duplex.destroyed) duplex.push(null);
    duplex.emit('close');
  });
  ws.on('error', (error) => duplex.destroy(error));
  const whenOpen = (action: () => void, callback: (error?: Error | null) => void) => {
    if (ws.readyState !== WebSocket.CONNECTING) return action();
    const onOpen = () => {
      ws.off('close', onClose);
      action();
    };
    const onClose = () => {
      ws.off('open', onOpen);
      callback(ws.lastError ?? new Error(`WebSocket closed before it opened: ${ws.closeReason}`));
    };
    ws.once('open', onOpen);
    ws.once('close', onClose);
  };
  duplex._read = () => ws.resume();
  duplex._write = (chunk: Buffer | string, _encoding, callback) => {
    whenOpen(() => {
      if (ws.readyState !== WebSocket.OPEN) return callback(new Error('the WebSocket is closing'));
      ws.send(chunk, callback);
    }, callback);
  };
  duplex._final = (callback) => {
    whenOpen(() => {
      if (ws.readyState === WebSocket.CLOSED) return callback();
      ws.once('close', () => callback());
      ws.close();
    }, callback);
  };
  duplex._destroy = (error, callback) => {
    if (ws.readyState === WebSocket.CLOSED) return callback(error);
    ws.once('close', () => callback(error));
    ws.terminate();
  };
  return duplex;
}
