import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildFrame, closePayload, type RawFrame, recordingConnection } from '../helpers.js';

/**
 * Every framing rule of RFC 6455 that fails the connection, with the exact close
 * code, fed all at once and one byte at a time.
 */

const text = 0x1;
const binary = 0x2;
const cont = 0x0;
const close = 0x8;
const ping = 0x9;

interface FailCase {
  name: string;
  frames: RawFrame[];
  code: number;
  role?: 'client' | 'server';
  maxMessageSize?: number;
  maxFrameSize?: number;
  /** Messages legitimately delivered before the bad frame (default 0). */
  delivers?: number;
}

const invalidUtf8 = Buffer.from([
  0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
]);

const failures: FailCase[] = [
  { name: 'unmasked frame from a client', frames: [{ opcode: text, payload: 'x', mask: false }], code: 1002 },
  {
    name: 'masked frame from a server',
    role: 'client',
    frames: [{ opcode: text, payload: 'x', mask: true }],
    code: 1002,
  },
  { name: 'RSV1 without extension', frames: [{ opcode: text, payload: 'x', rsv: 4 }], code: 1002 },
  { name: 'RSV2', frames: [{ opcode: text, payload: 'x', rsv: 2 }], code: 1002 },
  { name: 'RSV3', frames: [{ opcode: text, payload: 'x', rsv: 1 }], code: 1002 },
  { name: 'RSV bits on a ping', frames: [{ opcode: ping, rsv: 7 }], code: 1002 },
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => ({
    name: `reserved opcode 0x${opcode.toString(16)}`,
    frames: [{ opcode, payload: 'x' }],
    code: 1002,
  })),
  { name: 'ping with 126-byte payload', frames: [{ opcode: ping, payload: Buffer.alloc(126) }], code: 1002 },
  { name: 'fragmented ping', frames: [{ opcode: ping, payload: 'a', fin: false }], code: 1002 },
  { name: 'fragmented close', frames: [{ opcode: close, fin: false }], code: 1002 },
  { name: 'continuation without a message', frames: [{ opcode: cont, payload: 'x' }], code: 1002 },
  {
    name: 'continuation after a complete message',
    frames: [
      { opcode: text, payload: 'a' },
      { opcode: cont, payload: 'b' },
    ],
    code: 1002,
    delivers: 1,
  },
  {
    name: 'new text frame inside a fragmented message',
    frames: [
      { opcode: text, payload: 'a', fin: false },
      { opcode: text, payload: 'b' },
    ],
    code: 1002,
  },
  {
    name: 'binary frame inside a fragmented text message',
    frames: [
      { opcode: text, payload: 'a', fin: false },
      { opcode: binary, payload: 'b' },
    ],
    code: 1002,
  },
  { name: 'invalid UTF-8 text', frames: [{ opcode: text, payload: invalidUtf8 }], code: 1007 },
  { name: 'overlong encoding', frames: [{ opcode: text, payload: Buffer.from([0xc0, 0xaf]) }], code: 1007 },
  {
    name: 'code point above U+10FFFF',
    frames: [{ opcode: text, payload: Buffer.from([0xf4, 0x90, 0x80, 0x80]) }],
    code: 1007,
  },
  {
    name: 'text ending inside a code point',
    frames: [{ opcode: text, payload: Buffer.from([0x61, 0xe2, 0x82]) }],
    code: 1007,
  },
  {
    name: 'fragmented text ending inside a code point',
    frames: [
      { opcode: text, payload: Buffer.from([0xe2]), fin: false },
      { opcode: cont, payload: Buffer.from([0x82]) },
    ],
    code: 1007,
  },
  {
    name: 'close with 1-byte payload',
    frames: [{ opcode: close, payload: Buffer.from([0x03]) }],
    code: 1002,
  },
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((c) => ({
    name: `close code ${c}`,
    frames: [{ opcode: close, payload: closePayload(c) }],
    code: 1002,
  })),
  {
    name: 'close reason not UTF-8',
    frames: [{ opcode: close, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff, 0xfe])]) }],
    code: 1007,
  },
  {
    name: '64-bit length with the top bit set',
    frames: [],
    code: 1002,
  },
  {
    name: 'frame above maxFrameSize (judged from the header)',
    maxFrameSize: 1000,
    frames: [{ opcode: binary, payload: Buffer.alloc(1001) }],
    code: 1009,
  },
  {
    name: 'message above maxMessageSize across fragments',
    maxMessageSize: 1000,
    frames: [
      { opcode: binary, payload: Buffer.alloc(600), fin: false },
      { opcode: cont, payload: Buffer.alloc(401) },
    ],
    code: 1009,
  },
];

function bytesOf(c: FailCase): Buffer {
  if (c.name.startsWith('64-bit length')) {
    // 0x82, masked 127, then 8 length bytes with the top bit set, then a key.
    return Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
  }
  return Buffer.concat(c.frames.map(buildFrame));
}

describe('frames that fail the connection', () => {
  for (const c of failures) {
    for (const chunk of [Number.MAX_SAFE_INTEGER, 1]) {
      test(`${c.name} -> ${c.code} (${chunk === 1 ? 'byte by byte' : 'one chunk'})`, () => {
        const r = recordingConnection({
          role: c.role ?? 'server',
          maxMessageSize: c.maxMessageSize,
          maxFrameSize: c.maxFrameSize,
        });
        r.feed(bytesOf(c), chunk);
        const error = r.events.find((e) => e.type === 'error');
        assert.ok(error, `expected a protocol error, got ${JSON.stringify(r.events)}`);
        assert.equal(error.type === 'error' && error.code, c.code);
        assert.equal(r.sentCloseCode(), c.code, 'the Close frame sent carries the code');
        assert.ok(
          r.events.some((e) => e.type === 'closeTransport'),
          'the transport is closed',
        );
        assert.equal(r.connection.state, 'closed');
        const delivered = r.events.filter((e) => e.type === 'text' || e.type === 'binary').length;
        assert.equal(delivered, c.delivers ?? 0, 'messages delivered before the failure');
      });
    }
  }

  test('a too-large frame fails before any payload byte arrives', () => {
    const r = recordingConnection({ maxFrameSize: 1024 });
    // Header only: masked binary, 16-bit length 2000, key.
    r.feed(Buffer.from([0x82, 0xfe, 0x07, 0xd0, 1, 2, 3, 4]));
    assert.equal(r.sentCloseCode(), 1009);
  });

  test('invalid UTF-8 fails on the fragment that carries it, before the message ends', () => {
    const r = recordingConnection();
    r.feed(buildFrame({ opcode: text, payload: 'valid start ', fin: false }));
    assert.equal(r.sentCloseCode(), undefined);
    r.feed(buildFrame({ opcode: cont, payload: Buffer.from([0xf4, 0x90, 0x80, 0x80]), fin: false }));
    assert.equal(r.sentCloseCode(), 1007);
  });

  test('invalid UTF-8 fails while the frame is still arriving', () => {
    const r = recordingConnection();
    const frame = buildFrame({
      opcode: text,
      payload: Buffer.concat([Buffer.from('ok'), invalidUtf8, Buffer.alloc(1000, 0x61)]),
    });
    // Header (8 bytes) + the bad bytes, but not the rest of the payload.
    r.feed(frame.subarray(0, 8 + 2 + invalidUtf8.length));
    assert.equal(r.sentCloseCode(), 1007);
  });

  test('input after a failure is ignored', () => {
    const r = recordingConnection();
    r.feed(Buffer.concat([buildFrame({ opcode: 3 }), buildFrame({ opcode: text, payload: 'late' })]));
    assert.equal(r.events.filter((e) => e.type === 'text').length, 0);
    assert.equal(r.sent().length, 1);
  });
});
