import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import type { ProxyOptions } from '../../src/proxy/proxy.js';
import { HANDSHAKE } from '../node/net-helpers.js';
import { guardedFile, startProxy } from './helpers.js';

/**
 * A client that leaves while the proxy waits for the backend's answer: the
 * backend attempt is cut at once (its connection closed), not held until
 * backendTimeout. The backend here accepts and never answers, and the timeout is
 * far longer than the test's own limit, so only noticing the client ends it.
 */

const { cleanups } = guardedFile();

/** A backend that accepts connections and never says a word; tells of each connection and its close. */
async function silentBackend() {
  const sockets = new Set<net.Socket>();
  const arrivals: Array<(socket: net.Socket) => void> = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    // Wait for the request to arrive so the proxy is surely waiting for the answer.
    socket.once('data', () => arrivals.shift()?.(socket));
    socket.on('data', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    /** The next backend connection, once its request has arrived. */
    nextRequest: () => new Promise<net.Socket>((r) => arrivals.push(r)),
  };
}

async function proxyFor(options: Omit<ProxyOptions, 'port'>) {
  const p = await startProxy(options);
  cleanups.push(() => p.proxy.close());
  return p;
}

const LONG = 10 * 60_000; // far beyond the test timeout: waiting it out fails the test

function client(port: number): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  return socket;
}

describe('proxy: a client that leaves while the backend is being asked', () => {
  for (const [how, leave] of [
    ['half-closes (FIN)', (s: net.Socket) => s.end()],
    ['closes', (s: net.Socket) => s.destroy()],
    ['resets', (s: net.Socket) => s.resetAndDestroy()],
  ] as const) {
    test(`upgrade: a client that ${how} before the 101 has its backend attempt cut at once`, async () => {
      const b = await silentBackend();
      const { port, proxy } = await proxyFor({
        routes: [{ backends: [`ws://127.0.0.1:${b.port}`] }],
        backendTimeout: LONG,
      });
      const socket = client(port);
      const asked = b.nextRequest();
      socket.write(HANDSHAKE('/'));
      const upstream = await asked;
      const closed = [once(upstream, 'close'), once(socket, 'close')];
      leave(socket);
      await Promise.all(closed);
      assert.equal(proxy.stats().abandoned, 1);
      assert.equal(proxy.stats().connections, 0);
      const [route] = proxy.stats().routes;
      // Not the backend's fault: no failure counted, it stays up.
      assert.deepEqual(route?.backends[0]?.handshakes, { accepted: 0, refused: 0, failed: 0 });
      assert.equal(route?.backends[0]?.state, 'up');
    });

    test(`HTTP: a client that ${how} before the answer has its backend request cut at once`, async () => {
      const b = await silentBackend();
      const { port, proxy } = await proxyFor({
        routes: [{ backends: [`http://127.0.0.1:${b.port}`] }],
        backendTimeout: LONG,
      });
      const socket = client(port);
      const asked = b.nextRequest();
      socket.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const upstream = await asked;
      const closed = [once(upstream, 'close'), once(socket, 'close')];
      leave(socket);
      await Promise.all(closed);
      assert.equal(proxy.stats().abandoned, 1);
      assert.equal(proxy.stats().routes[0]?.backends[0]?.state, 'up');
    });
  }

  test('upgrade: frames a client sends before the 101 still reach the backend after it', async () => {
    // Reading the client while waiting (to notice it leaving) must not lose what it sent early.
    const sockets = new Set<net.Socket>();
    let headArrived: (socket: net.Socket) => void = () => {};
    const asked = new Promise<net.Socket>((r) => (headArrived = r));
    let frameArrived: () => void = () => {};
    const relayed = new Promise<void>((r) => (frameArrived = r));
    const backend = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      let got = '';
      socket.on('data', (chunk: Buffer) => {
        if (got === '') headArrived(socket);
        got += chunk.toString('latin1');
        if (got.includes('early-frame')) frameArrived();
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => backend.close(r));
    });
    const { port } = await proxyFor({
      routes: [{ backends: [`ws://127.0.0.1:${(backend.address() as AddressInfo).port}`] }],
      backendTimeout: LONG,
    });
    const socket = client(port);
    socket.write(HANDSHAKE('/'));
    const upstream = await asked;
    // A masked text frame "early-frame" (zero mask key) in its own packet, while the
    // proxy waits for the backend; it is written to the kernel before the backend answers.
    const payload = Buffer.from('early-frame');
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
    await new Promise<void>((r, j) => socket.write(frame, (e) => (e ? j(e) : r())));
    let answer = '';
    socket.on('data', (d) => (answer += d));
    upstream.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
    await relayed;
    while (!answer.includes('\r\n\r\n')) await once(socket, 'data');
    assert.match(answer, /^HTTP\/1\.1 101 /);
    socket.destroy();
  });
});
