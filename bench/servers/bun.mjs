// Bun's built-in WebSocket server (run by the `bun` binary from bench/node_modules).
import { createInterface } from 'node:readline';

const options = JSON.parse(process.argv[2] ?? '{}');
const BROADCAST_MESSAGE = Buffer.alloc(64, 0x62);
const broadcast = options.mode === 'broadcast';
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(request, server) {
    if (server.upgrade(request)) return undefined;
    return new Response('upgrade required', { status: 426 });
  },
  websocket: {
    maxPayloadLength: 16 * 1024 * 1024,
    backpressureLimit: 1024 * 1024 * 1024,
    idleTimeout: 0,
    sendPings: false,
    perMessageDeflate: Boolean(options.deflate),
    open: (ws) => broadcast && ws.subscribe('all'),
    message: broadcast ? () => server.publish('all', BROADCAST_MESSAGE) : (ws, message) => ws.send(message),
  },
});
process.stdout.write(`${server.port}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'rss') return;
  Bun.gc(true);
  setTimeout(() => process.stdout.write(`${process.memoryUsage().rss}\n`), 200);
});
