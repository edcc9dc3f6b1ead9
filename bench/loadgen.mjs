// The load generator: raw `net` sockets, pre-built masked frames, and a parser that
// reads only frame headers (payloads are skipped, never copied). One process, pinned
// by the runner to its own core, drives every server alike. It prints one JSON line.
//
//   node loadgen.mjs '{"mode":"echo","port":8000,"connections":64,"inFlight":16,...}'
//
// Modes: echo (throughput + sampled latency), handshake (open+close per second),
// idle (open N connections and hold them until stdin says "done"), broadcast
// (N receivers; a trigger message makes the server broadcast; time until all have it).
import * as net from 'node:net';
import { createInterface } from 'node:readline';
import { CLOSE_FRAME, compressedFrame, handshakeRequest, maskedFrame } from './lib/frames.mjs';

const config = JSON.parse(process.argv[2]);
const { port, mode, raw = false, deflate = false, path = '/' } = config;
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];

function payloadFrame(size, binary) {
  const payload = binary ? Buffer.alloc(size, 0xab) : Buffer.from('x'.repeat(size));
  const opcode = binary ? 2 : 1;
  return deflate ? compressedFrame(opcode, payload) : maskedFrame(opcode, payload);
}

/**
 * Counts complete data messages in a byte stream without copying payloads.
 * Handles masked frames too (the raw TCP echo server returns our own frames).
 */
class FrameCounter {
  remaining = 0; // payload bytes of the current frame still to skip
  header = null; // a frame header split across chunks
  messages = 0;

  push(chunk) {
    let offset = 0;
    if (this.header) {
      chunk = Buffer.concat([this.header, chunk]);
      this.header = null;
    }
    const length = chunk.length;
    let counted = 0;
    while (offset < length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, length - offset);
        this.remaining -= take;
        offset += take;
        continue;
      }
      if (length - offset < 2) {
        this.header = chunk.subarray(offset);
        break;
      }
      const b0 = chunk[offset];
      const b1 = chunk[offset + 1];
      let payload = b1 & 0x7f;
      let headerLength = 2 + (b1 & 0x80 ? 4 : 0);
      if (payload === 126) headerLength += 2;
      else if (payload === 127) headerLength += 8;
      if (length - offset < headerLength) {
        this.header = chunk.subarray(offset);
        break;
      }
      if (payload === 126) payload = chunk.readUInt16BE(offset + 2);
      else if (payload === 127) payload = Number(chunk.readBigUInt64BE(offset + 2));
      const opcode = b0 & 0x0f;
      if (b0 & 0x80 && opcode < 8) counted++;
      offset += headerLength;
      this.remaining = payload;
    }
    this.messages += counted;
    return counted;
  }
}

/** Connect and (unless raw) complete the upgrade; resolves with the socket and any bytes after the 101. */
function connect(index) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: HOSTS[index % HOSTS.length] });
    socket.setNoDelay(true);
    socket.once('error', reject);
    if (raw) {
      socket.once('connect', () => resolve({ socket, rest: Buffer.alloc(0) }));
      return;
    }
    const { request, accept } = handshakeRequest(path, { deflate });
    socket.write(request);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const text = head.subarray(0, end).toString('latin1');
      if (!text.startsWith('HTTP/1.1 101') || !text.includes(accept)) {
        reject(new Error(`handshake refused: ${text.split('\r\n')[0]}`));
        socket.destroy();
        return;
      }
      resolve({ socket, rest: head.subarray(end + 4) });
    };
    socket.on('data', onData);
  });
}

async function connectMany(count, concurrency = 200) {
  const sockets = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      sockets[i] = await connect(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return sockets;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function echo() {
  const { connections, inFlight, size, binary, warmupMs, durationMs } = config;
  const frame = payloadFrame(size, binary);
  const batch = Buffer.concat(Array(inFlight).fill(frame));
  const opened = await connectMany(connections);
  let measuring = false;
  let running = true;
  let received = 0;
  const latencies = [];
  for (const { socket, rest } of opened) {
    const counter = new FrameCounter();
    let sent = 0;
    let probeIndex = -1; // the message whose round trip is being timed
    let probeStart = 0;
    const send = (n) => {
      if (probeIndex < 0 && measuring) {
        probeIndex = sent;
        probeStart = performance.now();
      }
      sent += n;
      socket.write(n === inFlight ? batch : batch.subarray(0, n * frame.length));
    };
    const onData = (chunk) => {
      const n = counter.push(chunk);
      if (n === 0) return;
      if (measuring) received += n;
      if (probeIndex >= 0 && counter.messages > probeIndex) {
        if (measuring && latencies.length < 200_000) latencies.push(performance.now() - probeStart);
        probeIndex = -1;
      }
      if (running) send(n);
    };
    socket.on('data', onData);
    socket.on('error', () => {});
    if (rest.length > 0) onData(rest);
    send(inFlight);
  }
  await sleep(warmupMs);
  measuring = true;
  const start = performance.now();
  await sleep(durationMs);
  const seconds = (performance.now() - start) / 1000;
  measuring = false;
  running = false;
  for (const { socket } of opened) socket.destroy();
  latencies.sort((a, b) => a - b);
  return {
    messagesPerSecond: received / seconds,
    megabytesPerSecond: (received * size) / seconds / 1e6,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples: latencies.length },
  };
}

async function handshakes() {
  const { total, concurrency } = config;
  let next = 0;
  let failures = 0;
  const once = async (i) => {
    const { socket } = await connect(i);
    await new Promise((resolve) => {
      socket.on('error', () => {});
      socket.on('close', resolve);
      socket.on('end', () => socket.end());
      socket.write(CLOSE_FRAME);
    });
  };
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        await once(i).catch(() => failures++);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { handshakesPerSecond: (total - failures) / seconds, failures };
}

function waitForStdin(word) {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line === word) {
        lines.close();
        resolve();
      }
    });
  });
}

async function idle() {
  const { connections, touch = false } = config;
  const opened = await connectMany(connections);
  if (touch) {
    // One message each, echoed, so per-connection state that lives after traffic (zlib) exists.
    const frame = payloadFrame(4096, false);
    await Promise.all(
      opened.map(
        ({ socket }) =>
          new Promise((resolve) => {
            const counter = new FrameCounter();
            socket.on('data', (chunk) => counter.push(chunk) && resolve());
            socket.write(frame);
          }),
      ),
    );
  }
  for (const { socket } of opened) socket.on('error', () => {});
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await waitForStdin('done');
  for (const { socket } of opened) socket.destroy();
  return { connections };
}

async function broadcast() {
  // Each round asks for `burst` broadcasts at once, so that the receivers' side (one
  // process, 10k sockets) batches its reads and the server's fan-out is what is timed.
  const { connections, rounds, burst } = config;
  const receivers = await connectMany(connections);
  let received = 0;
  let wake = null;
  for (const { socket, rest } of receivers) {
    const counter = new FrameCounter();
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      received += counter.push(chunk);
      if (wake && received >= wake.target) wake.resolve();
    });
    if (rest.length) counter.push(rest);
  }
  const [control] = await connectMany(1);
  control.socket.on('data', () => {});
  const trigger = maskedFrame(1, Buffer.from('broadcast'));
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const target = (r + 1) * connections * burst;
    const start = performance.now();
    const done = new Promise((resolve) => (wake = { target, resolve }));
    control.socket.write(Buffer.concat(Array(burst).fill(trigger)));
    const timeout = sleep(30_000).then(() => 'timeout');
    if ((await Promise.race([done, timeout])) === 'timeout')
      throw new Error(`broadcast round ${r} timed out`);
    times.push(performance.now() - start);
    await sleep(20);
  }
  for (const { socket } of [...receivers, control]) socket.destroy();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { broadcastMs: median / burst, deliveredPerSecond: (connections * burst) / (median / 1000) };
}

const modes = { echo, handshake: handshakes, idle, broadcast };
try {
  const result = await modes[mode]();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
  process.exit(1);
}
