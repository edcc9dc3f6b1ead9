import Fastify from 'fastify';
import { WebSocketServer } from 'socketeer';

// Fastify serves HTTP; socketeer attaches to its Node server (app.server) for /ws.
const app = Fastify();
const wss = new WebSocketServer({ server: app.server, path: '/ws' });

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
app.get('/stats', async () => {
  const { connections, messagesIn, messagesOut } = wss.stats();
  return { connections, messagesIn, messagesOut };
});
// Close the WebSockets (1001) before Fastify closes its server, which waits for every socket.
app.addHook('preClose', async () => wss.close());

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on http://127.0.0.1:${app.server.address().port} (WebSocket at /ws)`);
process.on('SIGINT', () => app.close().then(() => process.exit(0)));
