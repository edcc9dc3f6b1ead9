import Koa from 'koa';
import { WebSocketServer } from 'socketeer';

// Koa serves HTTP; the application routes upgrades itself and hands /ws to socketeer
// (noServer mode: the same shape works with any framework that exposes its http.Server).
const app = new Koa();
app.use(async (ctx) => {
  if (ctx.path === '/') ctx.body = 'Koa here; WebSocket at /ws';
});
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws, req) => ws.send(`you asked for ${req.url}`));

const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`listening on http://localhost:${server.address().port} (WebSocket at /ws)`);
});
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'http://localhost').pathname === '/ws') {
    wss.handleUpgrade(req, socket, head); // emits 'connection' once the handshake is done
  } else {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  }
});

process.on('SIGINT', async () => {
  await wss.close();
  server.close(() => process.exit(0));
});
