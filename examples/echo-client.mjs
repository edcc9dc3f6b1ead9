import { WebSocket } from 'socketeer';

const ws = await WebSocket.connect(process.argv[2] ?? 'ws://localhost:8080/echo');
ws.on('message', (data) => {
  console.log('received:', data);
  ws.close(1000, 'done');
});
ws.send('Hello, socketeer!');
