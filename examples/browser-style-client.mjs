import { WebSocket } from 'socketeer/whatwg';

// The same code runs in a browser: only the import differs.
const ws = new WebSocket(process.argv[2] ?? 'ws://localhost:8080/echo');
ws.binaryType = 'arraybuffer';
ws.onopen = () => ws.send('Hello from the browser API!');
ws.onmessage = (event) => {
  console.log('received:', event.data);
  ws.close(1000, 'done');
};
ws.onclose = (event) => console.log('closed', event.code, event.reason, event.wasClean);
