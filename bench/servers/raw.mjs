// The ceiling: bare Node `net` echoing bytes back, no WebSocket framing at all.
import * as net from 'node:net';
import { ready } from './control.mjs';

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => ready(server.address().port));
