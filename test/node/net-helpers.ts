import { once } from 'node:events';
import * as net from 'node:net';
import { type ServerOptions, WebSocketServer } from '../../src/index.js';

/** A loopback port that was free a moment ago (for servers that must restart on the same port). */
export async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Start a server on a free loopback port. */
export async function startServer<User = unknown>(options: Omit<ServerOptions<User>, 'port'> = {}) {
  const server = new WebSocketServer<User>({ port: 0, host: '127.0.0.1', ...options });
  await server.listening();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, port, url: `ws://127.0.0.1:${port}` };
}

/** An echo server: every message goes back as it came. */
export async function startEchoServer(options: Omit<ServerOptions, 'port'> = {}) {
  const s = await startServer(options);
  s.server.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
    });
  });
  return s;
}

export const HANDSHAKE = (path = '/', extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/** Send raw bytes and collect everything until the server closes (or the time runs out). */
export async function rawExchange(port: number, request: string | Buffer, timeoutMs = 3000): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  socket.on('error', () => {});
  socket.write(request);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  await once(socket, 'close');
  clearTimeout(timer);
  return Buffer.concat(chunks).toString('latin1');
}

/**
 * A hand-driven client: performs the handshake, then lets the test write raw
 * frames and read raw bytes, to play a misbehaving or slow peer.
 */
export async function rawClient(port: number, path = '/', extraHeaders = '') {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let buffer = Buffer.alloc(0);
  let ended = false;
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  socket.on('data', (c) => {
    buffer = Buffer.concat([buffer, c]);
    wake();
  });
  socket.on('end', () => {
    ended = true;
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });
  await once(socket, 'connect');
  socket.write(HANDSHAKE(path, extraHeaders));
  const client = {
    socket,
    get ended() {
      return ended;
    },
    /** Wait until `predicate(buffer)` holds or the socket ends; returns the buffer. */
    async waitFor(predicate: (b: Buffer) => boolean, timeoutMs = 3000): Promise<Buffer> {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        wake();
      }, timeoutMs);
      // Woken by each chunk, the end of the socket, or the deadline.
      while (!predicate(buffer) && !ended && !timedOut) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      clearTimeout(timer);
      return buffer;
    },
    /** Bytes received after the handshake response. */
    frames(): Buffer {
      const end = buffer.indexOf('\r\n\r\n');
      return end === -1 ? Buffer.alloc(0) : buffer.subarray(end + 4);
    },
  };
  const head = await client.waitFor((b) => b.includes('\r\n\r\n'));
  if (!head.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`handshake failed: ${head}`);
  return client;
}

export function nextEvent<T extends unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return once(emitter, event) as Promise<T>;
}

/**
 * Sends `chunks` on a fresh loopback connection and reads until a response
 * head is complete or the server closes (5 s bound): the HTTP fuzz tests' probe.
 */
export async function exchangeHead(port: number, chunks: Buffer[]): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let answer = Buffer.alloc(0);
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      answer = Buffer.concat([answer, d]);
      if (answer.includes('\r\n\r\n')) resolve();
    });
    socket.on('close', () => resolve());
  });
  await once(socket, 'connect');
  for (const c of chunks) socket.write(c);
  const timer = setTimeout(() => socket.destroy(), 5000);
  await done;
  clearTimeout(timer);
  socket.destroy();
  return answer.toString('latin1');
}
