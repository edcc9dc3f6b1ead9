import { WebSocketServer } from 'socketeer';

const server = new WebSocketServer({ port: Number(process.env.PORT ?? 8080), path: '/echo' });
server.on('listening', () => console.log(`listening on ws://localhost:${server.address().port}/echo`));
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code, reason) => console.log('closed', code, reason));
});
process.on('SIGINT', () => server.close().then(() => process.exit(0)));
