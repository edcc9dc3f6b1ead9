import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Connection } from '../../src/protocol/connection.js';
import { buildFrame, decodeFrames, recordingConnection } from '../helpers.js';

/** Split bytes at the given cut points. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  return out;
}

describe('property: encode/decode round trips', () => {
  test('messages of any size survive any chunking, client -> server and server -> client', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 70_000 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.constantFrom<'client' | 'server'>('client', 'server'),
        (messages, cuts, senderRole) => {
          const sender = recordingConnection({ role: senderRole });
          for (const m of messages) {
            if (typeof m === 'string') sender.connection.sendText(m);
            else sender.connection.sendBinary(m);
          }
          const receiver = recordingConnection({ role: senderRole === 'client' ? 'server' : 'client' });
          for (const c of chunked(sender.raw(), cuts)) receiver.connection.receive(Buffer.from(c));
          assert.equal(receiver.events.length, messages.length);
          messages.forEach((m, i) => {
            const e = receiver.events[i]!;
            if (typeof m === 'string') assert.deepEqual(e, { type: 'text', data: m });
            else assert.ok(e.type === 'binary' && e.data.equals(Buffer.from(m)));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('fragmented messages reassemble in any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat()),
        (parts, cuts) => {
          const frames = parts.map((p, i) =>
            buildFrame({ opcode: i === 0 ? 2 : 0, payload: Buffer.from(p), fin: i === parts.length - 1 }),
          );
          const r = recordingConnection();
          for (const c of chunked(Buffer.concat(frames), cuts)) r.connection.receive(Buffer.from(c));
          assert.equal(r.events.length, 1);
          const e = r.events[0]!;
          assert.ok(e.type === 'binary' && e.data.equals(Buffer.concat(parts.map((p) => Buffer.from(p)))));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('property: garbage never throws and never buffers beyond the limit', () => {
  test('random bytes into a server and a client', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.nat()),
        fc.boolean(),
        (bytes, cuts, client) => {
          const limit = 1024;
          const r = recordingConnection({ role: client ? 'client' : 'server', maxMessageSize: limit });
          for (const c of chunked(Buffer.from(bytes), cuts)) r.connection.receive(Buffer.from(c));
          for (const e of r.events) {
            if (e.type === 'text') assert.ok(Buffer.byteLength(e.data) <= limit);
            if (e.type === 'binary') assert.ok(e.data.length <= limit);
            if (e.type === 'error') assert.ok([1002, 1007, 1009].includes(e.code), `code ${e.code}`);
          }
          const internal = r.connection as unknown as { messageBuffer: { buffer: Buffer | null } };
          assert.ok((internal.messageBuffer.buffer?.length ?? 0) <= limit);
          // Whatever happened, the output is well-formed frames.
          for (const f of decodeFrames(r.raw())) assert.ok([0x8, 0xa].includes(f.opcode));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a huge declared length is refused from the header alone', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1025n, max: (1n << 63n) - 1n }), (length) => {
        const header = Buffer.alloc(14);
        header[0] = 0x82;
        header[1] = 0xff;
        header.writeBigUInt64BE(length, 2);
        let sent = 0;
        const c = new Connection(
          {
            write: () => sent++,
            onText() {},
            onBinary() {},
            onPing() {},
            onPong() {},
            onCloseFrame() {},
            onProtocolError(e) {
              assert.equal(e.closeCode, 1009);
            },
            closeTransport() {},
          },
          { role: 'server', maxMessageSize: 1024 },
        );
        c.receive(header);
        assert.equal(c.state, 'closed');
        assert.equal(sent, 1);
      }),
    );
  });
});
