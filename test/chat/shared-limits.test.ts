import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ChatServer } from '../../src/chat/server.js';
import { HANDSHAKE } from '../node/net-helpers.js';

/**
 * `socketeer serve`'s connection limits hold for /chat and /connection
 * together: one count per client address and one total, so the anonymous hub
 * endpoint does not double what one address (or everyone) may hold open.
 */

interface Opened {
  socket: net.Socket;
  /** The handshake answer's head (status line and headers). */
  head: string;
}

/** A raw handshake from a chosen loopback address; resolves with the answer's head. */
async function open(port: number, path: '/chat' | '/connection', from: string): Promise<Opened> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => {});
  await once(socket, 'connect');
  const extra = path === '/connection' ? 'Sec-WebSocket-Protocol: socketeer.v1.json\r\n' : '';
  socket.write(HANDSHAKE(path, extra));
  let received = '';
  while (!received.includes('\r\n\r\n') && !socket.destroyed) {
    const chunk = await new Promise<Buffer | undefined>((resolve) => {
      socket.once('data', resolve).once('close', () => resolve(undefined));
    });
    if (!chunk) break;
    received += chunk.toString('latin1');
  }
  return { socket, head: received.split('\r\n\r\n')[0]! };
}

const status = (opened: Opened) => opened.head.split(' ')[1];

describe('chat server: connection limits shared by /chat and /connection', () => {
  let chat: ChatServer;
  let port: number;
  const sockets: net.Socket[] = [];
  const connect = async (path: '/chat' | '/connection', from: string) => {
    const opened = await open(port, path, from);
    sockets.push(opened.socket);
    return opened;
  };
  before(async () => {
    chat = new ChatServer({ port: 0, host: '127.0.0.1', maxConnectionsPerIp: 2, maxConnections: 4 });
    port = (await chat.listen()).port;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await chat.close();
  });

  test('per address: one /chat and one /connection fill a limit of 2; a third of either gets 429', async () => {
    const chatOne = await connect('/chat', '127.0.0.7');
    assert.equal(status(chatOne), '101');
    assert.equal(status(await connect('/connection', '127.0.0.7')), '101');
    for (const path of ['/chat', '/connection'] as const) {
      const over = await connect(path, '127.0.0.7');
      assert.equal(status(over), '429', `${path}: ${over.head}`);
      assert.match(over.head, /Retry-After: 5/i);
    }
    // Another address is unaffected.
    assert.equal(status(await connect('/connection', '127.0.0.8')), '101');
    // A closed connection frees its slot (once the server has seen the close).
    chatOne.socket.destroy();
    for (;;) {
      const again = await connect('/connection', '127.0.0.7');
      if (status(again) === '101') break;
      assert.equal(status(again), '429');
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  test('in total: maxConnections counts both endpoints; beyond it 503', async () => {
    // Open now: 2 from 127.0.0.7, 1 from 127.0.0.8 (previous test): one more reaches 4.
    assert.equal(status(await connect('/chat', '127.0.0.8')), '101');
    for (const path of ['/chat', '/connection'] as const) {
      const over = await connect(path, '127.0.0.9');
      assert.equal(status(over), '503', `${path}: ${over.head}`);
      assert.match(over.head, /Retry-After: 5/i);
    }
  });
});
