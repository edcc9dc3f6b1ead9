// An echo server for benchmarks: `node --expose-gc echo.mjs <socketeer|ws> <deflate:0|1>`.
// Prints its port; answers "rss" on stdin with its RSS in bytes after a full GC.
import { createInterface } from 'node:readline';

const [impl, deflateFlag] = process.argv.slice(2);
const deflate = deflateFlag === '1';
let port;
if (impl === 'socketeer') {
  const { WebSocketServer } = await import('../../dist/src/index.js');
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: deflate });
  await server.listening();
  server.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
  port = server.address().port;
} else if (impl === 'ws') {
  const { WebSocketServer } = await import('ws');
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: deflate });
  await new Promise((r) => server.once('listening', r));
  server.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
  port = server.address().port;
} else {
  throw new Error(`unknown server ${impl}`);
}
process.stdout.write(`${port}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'rss') {
    globalThis.gc?.();
    globalThis.gc?.();
    setTimeout(() => process.stdout.write(`${process.memoryUsage().rss}\n`), 200);
  }
});
