// Socket.IO 4 under test (bench:fanout, bench:scale): websocket transport only,
// rooms. "join" (acked) puts the socket in a room; "pub" [room, data] is sent to
// the room with io.to(room).emit (acked when the client asks for an ack). With
// options.redis it uses @socket.io/redis-adapter on that Redis (a node of bench:scale).
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { options, ready } from './control.mjs';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false, maxHttpBufferSize: 1e6 });
if (options.redis) {
  const { createClient } = await import('redis');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const pub = createClient({ url: options.redis });
  const sub = pub.duplicate();
  // Report Redis client errors instead of crashing on them (the adapter retries by itself).
  for (const client of [pub, sub])
    client.on('error', (error) => process.stderr.write(`socket.io redis: ${error}\n`));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}
io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    socket.join(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('pub', (room, data, ack) => {
    io.to(room).emit('m', data);
    if (typeof ack === 'function') ack();
  });
});
http.listen(options.port ?? 0, '127.0.0.1', () => ready(http.address().port));
// Report the first uncaught error (node-redis rejects commands that time out) and count the rest.
let uncaught = 0;
process.on('uncaughtException', (error) => {
  if (uncaught++ === 0) process.stderr.write(`socket.io node: uncaught ${error?.stack ?? error}\n`);
});
process.on(
  'exit',
  () => uncaught > 1 && process.stderr.write(`socket.io node: ${uncaught} uncaught errors\n`),
);
