import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import WS from 'ws';
import type { WebSocketServer } from '../../src/index.js';
import type { DeflateOptions } from '../../src/node/deflate.js';
import { WebSocket } from '../../src/node/websocket.js';
import { startServer } from './net-helpers.js';

/**
 * Issue 11, "prove the class is gone" for connection lifetimes: both ends
 * compress and inflate (threshold 0, messages up to 300 KB, echoed), and
 * either end leaves at a random point - Close, FIN, RST, terminate() - with
 * and without context takeover. The process must stay up with no uncaught
 * exception or unhandled rejection, every connection must end, and the server
 * must serve normally afterwards. The seed is printed on failure (STRESS_SEED
 * replays it).
 */

const SEED = Number(process.env.STRESS_SEED ?? Date.now() % 1_000_000);
const ROUNDS = 60;
const PARALLEL = 6;

const problems: unknown[] = [];
/** Errors the connections reported: resets are expected, errors of our own making are not. */
const reported = new Map<string, number>();
const note = (error: Error) => {
  const key = (error as NodeJS.ErrnoException).code ?? error.message;
  reported.set(key, (reported.get(key) ?? 0) + 1);
};
const onUnhandled = (reason: unknown) => problems.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(problems, [], `no unhandled rejection (seed ${SEED})`);
});

/** mulberry32: small, seedable, good enough to pick moments. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function text(rand: () => number, bytes: number): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'zlib', 'frame', 'close', 'reset'];
  let s = '';
  while (s.length < bytes) s += `${words[Math.floor(rand() * words.length)]}${Math.floor(rand() * 1000)} `;
  return s.slice(0, bytes);
}

type Exit = 'close' | 'fin' | 'reset' | 'terminate';
const EXITS: Exit[] = ['close', 'fin', 'reset', 'terminate'];

/** Leave in one of the four ways, after a random number of event-loop turns (0: at once). */
function leave(rand: () => number, ws: WebSocket, socket: () => Socket | null): void {
  const exit = EXITS[Math.floor(rand() * EXITS.length)]!;
  let turns = Math.floor(rand() * 6);
  const act = () => {
    if (turns-- > 0) return void setImmediate(act);
    const s = socket();
    if (exit === 'close') {
      if (ws.readyState === ws.OPEN) ws.close(1000, 'bye');
    } else if (exit === 'terminate') ws.terminate();
    else if (exit === 'fin') s?.end();
    else if (s && !s.destroyed) {
      // A socket that was ended (by the library finishing a closing handshake, say)
      // cannot be reset while its shutdown is in flight: uv_tcp_close_reset()
      // returns UV_EINVAL, and the socket emits it as an error (syscall 'reset')
      // that the connection reports. That window is about one loop turn, so only
      // load hits it (seed 786149 did once); the EINVAL is this test's own doing,
      // not the library's. Such a socket's FIN is on its way: just close it.
      if (s.writableEnded) s.destroy();
      else s.resetAndDestroy();
    }
  };
  act();
}

const socketOf = (ws: WebSocket) => () => (ws as unknown as { socket: Socket | null }).socket;

const CONFIGS: Array<[string, DeflateOptions, DeflateOptions]> = [
  ['context takeover', { serverNoContextTakeover: false, threshold: 0 }, { threshold: 0 }],
  [
    'no context takeover',
    { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 },
    { threshold: 0 },
  ],
];

describe(`lifetimes under random exits (seed ${SEED})`, () => {
  for (const [name, serverDeflate, clientDeflate] of CONFIGS) {
    test(`${name}: ${ROUNDS} connections, either end leaves mid-compression`, async () => {
      const rand = random(SEED + name.length);
      const { server, url } = await startServer({ perMessageDeflate: serverDeflate, closeTimeout: 1000 });
      let serverExits = 0;
      let chaos = true;
      server.on('connection', (ws) => {
        ws.on('error', note);
        ws.on('message', (data, isBinary) => {
          if (ws.readyState !== ws.OPEN) return;
          // Echo (compressed) and sometimes send a large message of our own too.
          ws.send(data, { binary: isBinary });
          if (!chaos) return;
          if (rand() < 0.3) ws.send(text(rand, 200_000 + Math.floor(rand() * 100_000)));
          if (rand() < 0.25) {
            serverExits++;
            leave(rand, ws, socketOf(ws));
          }
        });
      });

      const round = async () => {
        if (rand() < 0.2) return wsPeer(rand, url);
        const ws = new WebSocket(url, undefined, { perMessageDeflate: clientDeflate, closeTimeout: 1000 });
        ws.on('error', note);
        // (Not events.once: it rejects on 'error', and resets are expected here.)
        const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
        const opened = await Promise.race([
          new Promise<boolean>((resolve) => ws.once('open', () => resolve(true))),
          closed.then(() => false),
        ]);
        if (!opened) return;
        const messages = 1 + Math.floor(rand() * 4);
        for (let i = 0; i < messages && ws.readyState === ws.OPEN; i++) {
          const size = rand() < 0.5 ? 100 + Math.floor(rand() * 2000) : 20_000 + Math.floor(rand() * 280_000);
          ws.send(rand() < 0.5 ? text(rand, size) : Buffer.from(text(rand, size)));
        }
        // Leave at once, after the first echo, or after all of them: compression
        // and inflation are running on both ends at each of these points.
        const when = rand();
        if (when < 0.4) leave(rand, ws, socketOf(ws));
        else {
          let echoes = 0;
          const target = when < 0.7 ? 1 : messages;
          ws.on('message', () => {
            if (++echoes === target) leave(rand, ws, socketOf(ws));
          });
        }
        await closed;
      };

      let started = 0;
      const worker = async () => {
        while (started < ROUNDS) {
          started++;
          await round();
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      assert.ok(serverExits > 0, 'the server side left sometimes too');
      // Resets are the peer's doing; anything else (write after end, zlib errors) would be ours.
      for (const key of reported.keys()) assert.ok(['ECONNRESET', 'EPIPE'].includes(key), `reported: ${key}`);
      await allGone(server);
      chaos = false;
      await stillServes(url, clientDeflate);
      await server.close();
    });
  }
});

/** A `ws` client: sends, and leaves in its own ways. */
async function wsPeer(rand: () => number, url: string): Promise<void> {
  const client = new WS(url, { perMessageDeflate: { threshold: 0 } });
  client.on('error', () => {});
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const opened = await Promise.race([
    new Promise<boolean>((resolve) => client.once('open', () => resolve(true))),
    closed.then(() => false),
  ]);
  if (!opened) return;
  client.send(text(rand, 20_000 + Math.floor(rand() * 200_000)));
  const how = rand();
  const socket = (client as unknown as { _socket: Socket })._socket;
  if (how < 0.25) client.terminate();
  else if (how < 0.5) socket.end();
  else if (how < 0.75) socket.resetAndDestroy();
  else client.close();
  await closed;
}

/** Every server-side connection ends (close timeouts bound the wait). */
async function allGone(server: WebSocketServer): Promise<void> {
  const open = [...server.clients];
  await Promise.all(
    open.map((ws) =>
      ws.readyState === ws.CLOSED ? null : new Promise<void>((resolve) => ws.once('close', () => resolve())),
    ),
  );
  assert.equal(server.clients.size, 0, 'no connection left behind');
}

/** A fresh connection echoes large and small messages intact, both ways compressed. */
async function stillServes(url: string, deflate: DeflateOptions): Promise<void> {
  const ws = await WebSocket.connect(url, { perMessageDeflate: deflate });
  const rand = random(1);
  const messages = [text(rand, 300_000), 'small', text(rand, 50_000)];
  const received: Array<string | Buffer> = [];
  const done = new Promise<void>((resolve) =>
    ws.on('message', (d) => {
      received.push(d);
      if (received.length === messages.length) resolve();
    }),
  );
  for (const m of messages) ws.send(m);
  await done;
  assert.deepEqual(received, messages);
  ws.close();
  await once(ws, 'close');
}
