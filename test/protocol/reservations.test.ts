import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageBuffer } from '../../src/protocol/message-buffer.js';
import { recordingConnection } from '../helpers.js';

/**
 * Issue 11, item 6: a frame header is at most 14 bytes, and the length it
 * announces costs nothing until the payload arrives. Memory follows the bytes
 * received, bounded by maxMessageSize.
 */

const MiB = 1024 * 1024;

/** A masked header (no payload) for a frame declaring `length` bytes. */
function header(opcode: number, length: number, fin: boolean): Buffer {
  const b = Buffer.alloc(14);
  b[0] = (fin ? 0x80 : 0) | opcode;
  b[1] = 0x80 | 127;
  b.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  b.writeUInt32BE(length >>> 0, 6);
  b.writeUInt32BE(0, 10); // masking key 0: the payload is as written
  return b;
}

/** Bytes allocated by a connection's reassembly buffer (internal, for this test only). */
function reassemblyCapacity(connection: unknown): number {
  const store = (connection as { messageBufferStore: { buffer: Buffer | null } | null }).messageBufferStore;
  return store?.buffer?.length ?? 0;
}

function arrayBuffers(): number {
  return process.memoryUsage().arrayBuffers;
}

describe('declared lengths reserve nothing', () => {
  for (const [name, opcode, fin] of [
    ['a non-final 64 MiB fragment', 0x2, false],
    ['a single 64 MiB frame that arrives slowly', 0x2, true],
    ['a 64 MiB text fragment', 0x1, false],
  ] as const) {
    test(`${name}, on 500 connections: memory grows with the bytes sent, not with the headers`, () => {
      const before = arrayBuffers();
      const connections = [];
      for (let i = 0; i < 500; i++) {
        const r = recordingConnection({ maxMessageSize: 64 * MiB });
        r.feed(header(opcode, 64 * MiB, fin));
        r.feed(Buffer.from('abc'));
        connections.push(r);
      }
      const growth = arrayBuffers() - before;
      // Before the fix: 500 x 64 MiB = 32 GB reserved (or RangeError: Array buffer allocation failed).
      assert.ok(growth < 16 * MiB, `arrayBuffers grew by ${(growth / MiB).toFixed(1)} MiB`);
      // The same, per connection, independent of garbage left by other tests.
      const held = connections.reduce((n, r) => n + reassemblyCapacity(r.connection), 0);
      assert.ok(held <= 500 * 64, `reassembly buffers hold ${held} bytes`);
      for (const r of connections) assert.deepEqual(r.events, [], 'still waiting for the payload');
    });
  }

  test('the fragment is still delivered whole when its bytes do arrive (in small pieces)', () => {
    const r = recordingConnection({ maxMessageSize: 4 * MiB });
    const payload = Buffer.alloc(3 * MiB);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    r.feed(header(0x2, payload.length, false));
    r.feed(payload, 1000);
    const last = Buffer.from([0x80, 0x80 | 3, 0, 0, 0, 0, 7, 8, 9]); // continuation, fin, 3 bytes
    r.feed(last);
    assert.equal(r.events.length, 1);
    const m = r.events[0]!;
    assert.ok(m.type === 'binary');
    assert.ok(m.data.subarray(0, payload.length).equals(payload));
    assert.deepEqual([...m.data.subarray(payload.length)], [7, 8, 9]);
  });

  test('growth never passes maxMessageSize, and more than the limit still fails with 1009', () => {
    const r = recordingConnection({ maxMessageSize: 1000 });
    r.feed(header(0x2, 600, false));
    r.feed(Buffer.alloc(600), 7);
    r.feed(header(0x0, 401, true));
    assert.deepEqual(r.events, [
      { type: 'error', code: 1009, message: 'message of more than 1000 bytes exceeds the limit' },
      { type: 'closeTransport' },
    ]);
  });

  test('MessageBuffer.append grows by doubling, capped by the limit', () => {
    const b = new MessageBuffer();
    let reallocations = 0;
    let capacity = 0;
    for (let i = 0; i < 10_000; i++) {
      b.append(Buffer.alloc(100, 1), 1_000_000);
      const now = (b as unknown as { buffer: Buffer }).buffer.length;
      if (now !== capacity) reallocations++;
      capacity = now;
      assert.ok(capacity <= 1_000_000);
    }
    assert.ok(reallocations <= 15, `${reallocations} reallocations`);
    assert.equal(b.take().length, 1_000_000);
  });

  test('a frame that arrives in two reads is reassembled in one buffer of its exact size', () => {
    const b = new MessageBuffer();
    const sizes: number[] = [];
    const capacity = () => (b as unknown as { buffer: Buffer }).buffer.length;
    b.append(Buffer.alloc(65_522, 1), 1_000_000, 65_536);
    sizes.push(capacity());
    b.append(Buffer.alloc(14, 2), 1_000_000, 65_536);
    sizes.push(capacity());
    assert.deepEqual(sizes, [65_536, 65_536]);
    const internal = (b as unknown as { buffer: Buffer }).buffer;
    const whole = b.take();
    assert.equal(whole.length, 65_536);
    assert.equal(whole.buffer, internal.buffer, 'take() hands over the buffer without a copy');
    assert.deepEqual([whole[65_521], whole[65_522]], [1, 2]);
  });

  test('an announced length reserves at most twice the bytes that came', () => {
    const b = new MessageBuffer();
    b.append(Buffer.alloc(10), 64 * MiB, 16 * MiB);
    assert.equal((b as unknown as { buffer: Buffer }).buffer.length, 20);
  });
});
