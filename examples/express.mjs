import express from 'express';
import { WebSocketServer } from 'socketeer';

// Express serves HTTP; socketeer takes the WebSocket upgrades at /ws on the same port.
const app = express();
const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`listening on http://localhost:${server.address().port} (WebSocket at /ws)`);
});
const wss = new WebSocketServer({ server, path: '/ws' });

wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'welcome', online: wss.clients.size })));

// An HTTP request that reaches every WebSocket client: the frame is encoded once.
app.post('/notify', express.json(), (req, res) => {
  const recipients = wss.broadcast(JSON.stringify({ type: 'notice', text: String(req.body.text) }));
  res.json({ recipients });
});

process.on('SIGINT', async () => {
  await wss.close(); // 1001 Going Away to every client, then the HTTP server
  server.close(() => process.exit(0));
});
