import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { type ServerOptions, WebSocketServer } from '../../src/index.js';
import { WebSocket } from '../../src/node/websocket.js';
import { type ProxyOptions, ReverseProxy } from '../../src/proxy/proxy.js';

/** A backend: an HTTP server (GET /health, GET /whoami) with a socketeer WebSocket server that greets with its name. */
export async function startBackend(
  name: string,
  options: Omit<ServerOptions, 'server' | 'port' | 'noServer'> = {},
  port = 0,
) {
  const requests: http.IncomingHttpHeaders[] = [];
  const httpServer = http.createServer((req, res) => {
    requests.push(req.headers);
    if (req.url === '/health') res.end('ok');
    else res.end(`${name} ${req.url} xff=${req.headers['x-forwarded-for'] ?? ''}`);
  });
  const wss = new WebSocketServer({ server: httpServer, heartbeatInterval: 0, ...options });
  const upgrades: http.IncomingHttpHeaders[] = [];
  wss.on('connection', (ws, req) => {
    upgrades.push(req.headers);
    ws.send(`hello from ${name}`);
    ws.on('message', (data, isBinary) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
  const actual = (httpServer.address() as AddressInfo).port;
  return {
    name,
    wss,
    httpServer,
    requests,
    upgrades,
    url: `ws://127.0.0.1:${actual}`,
    port: actual,
    async stop() {
      for (const ws of wss.clients) ws.terminate();
      await wss.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

export async function startProxy(options: Omit<ProxyOptions, 'port'>) {
  const proxy = new ReverseProxy({ port: 0, host: '127.0.0.1', ...options });
  const { port } = await proxy.listen();
  return { proxy, port, url: `ws://127.0.0.1:${port}` };
}

/** Connect through the proxy and return the socket with the greeting's backend name. */
export async function connectVia(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
  const ws = new WebSocket(url, undefined, { perMessageDeflate: false, ...options });
  const greeting = await new Promise<string>((resolve, reject) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
  });
  return { ws, backend: greeting.replace('hello from ', '') };
}

export function closed(ws: WebSocket): Promise<[number, string]> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve([ws.closeCode ?? 0, ws.closeReason]);
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve([code, reason])));
}

/**
 * A trip-wire for the whole test file: any unhandled rejection or uncaught
 * exception (which would kill a real proxy process) is recorded, so tests can
 * assert that peer input never reaches them.
 */
export function tripWire() {
  const escaped: unknown[] = [];
  const record = (error: unknown) => escaped.push(error);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  return {
    escaped,
    dispose() {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    },
  };
}

/**
 * The usual set-up of a test file: a trip-wire, and cleanups that run (last
 * first) after the file's tests, before the wire's record is checked empty.
 */
export function guardedFile() {
  const wire = tripWire();
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    wire.dispose();
    assert.deepEqual(wire.escaped, [], 'nothing escaped to the process');
  });
  return { wire, cleanups };
}
