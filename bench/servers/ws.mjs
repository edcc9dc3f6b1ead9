import { WebSocketServer } from 'ws';
import { BROADCAST_MESSAGE, MAX_PAYLOAD, options, ready } from './control.mjs';

// ws with bufferutil (installed beside it in bench/node_modules): its fastest configuration.
const server = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  maxPayload: MAX_PAYLOAD,
  perMessageDeflate: options.deflate ? { threshold: 0 } : false,
  clientTracking: true,
});
await new Promise((resolve) => server.once('listening', resolve));
if (options.mode === 'broadcast') {
  // ws has no broadcast of its own: the documented loop of send().
  server.on('connection', (ws) =>
    ws.on('message', () => {
      for (const client of server.clients) client.send(BROADCAST_MESSAGE);
    }),
  );
} else {
  server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
}
ready(server.address().port);
