import { WebSocketServer } from '../../dist/src/index.js';
import { BROADCAST_MESSAGE, MAX_PAYLOAD, options, ready } from './control.mjs';

const server = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  maxMessageSize: MAX_PAYLOAD,
  perMessageDeflate: options.deflate ? { threshold: 0 } : false,
  heartbeatInterval: 0,
  maxConnections: 0,
  maxConnectionsPerIp: 0,
});
await server.listening();
if (options.mode === 'broadcast') {
  server.on('connection', (ws) => ws.on('message', () => server.broadcast(BROADCAST_MESSAGE)));
} else {
  server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
}
ready(server.address().port);
