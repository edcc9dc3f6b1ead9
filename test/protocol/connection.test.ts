import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidStateError } from '../../src/protocol/errors.js';
import { MessageBuffer } from '../../src/protocol/message-buffer.js';
import { buildFrame, closePayload, recordingConnection } from '../helpers.js';

const text = 0x1;
const binary = 0x2;
const cont = 0x0;
const close = 0x8;
const ping = 0x9;
const pong = 0xa;

describe('receiving messages', () => {
  for (const chunk of [Number.MAX_SAFE_INTEGER, 1, 3, 7]) {
    test(`text and binary, 7/16/64-bit lengths, chunks of ${chunk === Number.MAX_SAFE_INTEGER ? 'all' : chunk}`, () => {
      const r = recordingConnection();
      const sizes = [0, 1, 125, 126, 127, 65535, 65536, 70000];
      for (const size of sizes) {
        r.feed(buildFrame({ opcode: binary, payload: Buffer.alloc(size, size & 0xff) }), chunk);
        r.feed(buildFrame({ opcode: text, payload: 'é'.repeat(size >> 1) }), chunk);
      }
      const got = r.events.filter((e) => e.type === 'binary' || e.type === 'text');
      assert.equal(got.length, sizes.length * 2);
      sizes.forEach((size, i) => {
        const b = got[i * 2]!;
        const t = got[i * 2 + 1]!;
        assert.ok(b.type === 'binary' && b.data.equals(Buffer.alloc(size, size & 0xff)));
        assert.ok(t.type === 'text' && t.data === 'é'.repeat(size >> 1));
      });
    });
  }

  test('a leading byte order mark is part of the text, whole or in pieces', () => {
    for (const chunk of [Number.MAX_SAFE_INTEGER, 1]) {
      const r = recordingConnection();
      r.feed(buildFrame({ opcode: text, payload: '\uFEFFbom' }), chunk);
      const got = r.events.find((e) => e.type === 'text');
      assert.ok(got?.type === 'text' && got.data === '\uFEFFbom');
    }
  });

  test('invalid UTF-8 in a text message that arrives whole fails with 1007', () => {
    const r = recordingConnection();
    r.feed(buildFrame({ opcode: text, payload: Buffer.from([0x61, 0xc3, 0x28]) }));
    assert.equal(r.connection.failure?.closeCode, 1007);
    assert.equal(r.events.filter((e) => e.type === 'text').length, 0);
  });

  test('non-minimal length encodings are accepted', () => {
    const r = recordingConnection();
    r.feed(buildFrame({ opcode: text, payload: 'sixteen', lengthBits: 16 }));
    r.feed(buildFrame({ opcode: text, payload: 'sixty-four', lengthBits: 64 }));
    assert.deepEqual(
      r.events.map((e) => e.type === 'text' && e.data),
      ['sixteen', 'sixty-four'],
    );
  });

  test('fragments, including empty ones, with control frames in between', () => {
    const r = recordingConnection();
    r.feed(
      Buffer.concat([
        buildFrame({ opcode: text, payload: '', fin: false }),
        buildFrame({ opcode: ping, payload: 'p1' }),
        buildFrame({ opcode: cont, payload: 'Hel', fin: false }),
        buildFrame({ opcode: cont, payload: '', fin: false }),
        buildFrame({ opcode: pong, payload: 'unsolicited' }),
        buildFrame({ opcode: cont, payload: 'lo' }),
      ]),
      5,
    );
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['ping', 'pong', 'text'],
    );
    const last = r.events[2]!;
    assert.ok(last.type === 'text' && last.data === 'Hello');
    // Ping answered with the same payload; the unsolicited pong is not answered.
    const sent = r.sent();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.opcode, pong);
    assert.equal(sent[0]!.payload.toString(), 'p1');
    assert.equal(sent[0]!.masked, false, 'servers never mask');
  });

  test('a code point split across fragments is valid', () => {
    const r = recordingConnection();
    const euro = Buffer.from('€'); // e2 82 ac
    r.feed(buildFrame({ opcode: text, payload: euro.subarray(0, 1), fin: false }));
    r.feed(buildFrame({ opcode: cont, payload: euro.subarray(1, 2), fin: false }));
    r.feed(buildFrame({ opcode: cont, payload: euro.subarray(2) }));
    assert.deepEqual(r.events, [{ type: 'text', data: '€' }]);
  });

  test('4 MiB in 65,536 fragments of 64 bytes is reassembled', () => {
    const r = recordingConnection();
    const fragments = 65536;
    const parts: Buffer[] = [];
    for (let i = 0; i < fragments; i++) {
      parts.push(
        buildFrame({
          opcode: i === 0 ? binary : cont,
          payload: Buffer.alloc(64, i & 0xff),
          fin: i === fragments - 1,
        }),
      );
    }
    r.feed(Buffer.concat(parts), 65536);
    assert.equal(r.events.length, 1);
    const m = r.events[0]!;
    assert.ok(m.type === 'binary');
    assert.equal(m.data.length, 4 * 1024 * 1024);
    for (let i = 0; i < fragments; i += 997) assert.equal(m.data[i * 64], i & 0xff);
  });

  test('reassembly memory stays within 2x the payload and copies O(n)', () => {
    const b = new MessageBuffer();
    let reallocations = 0;
    let capacity = 0;
    for (let i = 0; i < 65536; i++) {
      b.reserve(64, 64 * 1024 * 1024);
      const now = (b as unknown as { buffer: Buffer }).buffer.length;
      if (now !== capacity) reallocations++;
      capacity = now;
      b.append(Buffer.alloc(64, 1));
    }
    assert.ok(capacity <= 2 * b.length, `capacity ${capacity} for ${b.length} bytes`);
    assert.ok(reallocations <= 17, `${reallocations} reallocations`);
    assert.equal(b.take().length, 4 * 1024 * 1024);
  });

  test('a message exactly at maxMessageSize is accepted', () => {
    const r = recordingConnection({ maxMessageSize: 1000 });
    r.feed(buildFrame({ opcode: binary, payload: Buffer.alloc(500), fin: false }));
    r.feed(buildFrame({ opcode: cont, payload: Buffer.alloc(500) }));
    assert.equal(r.events[0]?.type, 'binary');
  });
});

describe('closing handshake', () => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
    test(`peer closes with ${code}: echoed, then the server closes TCP`, () => {
      const r = recordingConnection();
      r.feed(buildFrame({ opcode: close, payload: closePayload(code, 'bye') }));
      assert.deepEqual(r.events, [{ type: 'close', code, reason: 'bye' }, { type: 'closeTransport' }]);
      assert.equal(r.sentCloseCode(), code);
      assert.equal(r.connection.state, 'closed');
    });
  }

  test('an empty Close is reported as 1005 and answered with an empty Close', () => {
    const r = recordingConnection();
    r.feed(buildFrame({ opcode: close }));
    assert.deepEqual(r.events[0], { type: 'close', code: 1005, reason: '' });
    assert.equal(r.sent()[0]!.payload.length, 0);
  });

  test('the client waits for the server to close TCP', () => {
    const r = recordingConnection({ role: 'client' });
    r.feed(buildFrame({ opcode: close, payload: closePayload(1000), mask: false }));
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['close'],
    );
    assert.equal(r.sent()[0]!.masked, true, 'clients mask the Close frame too');
  });

  test('we close first: data still delivered until the peer answers; nothing sent after our Close', () => {
    const r = recordingConnection();
    r.connection.close(1000, 'done');
    assert.equal(r.connection.state, 'closing');
    assert.throws(() => r.connection.sendText('late'), InvalidStateError);
    assert.throws(() => r.connection.ping(), InvalidStateError);
    r.feed(buildFrame({ opcode: text, payload: 'in flight' }));
    r.feed(buildFrame({ opcode: ping, payload: 'p' }));
    r.feed(buildFrame({ opcode: close, payload: closePayload(1000) }));
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['text', 'ping', 'close', 'closeTransport'],
    );
    // Only our one Close frame went out: no pong after it, no second Close.
    assert.deepEqual(
      r.sent().map((f) => f.opcode),
      [close],
    );
    assert.equal(r.connection.state, 'closed');
  });

  test('frames after the peer Close are ignored', () => {
    const r = recordingConnection();
    r.feed(
      Buffer.concat([
        buildFrame({ opcode: close, payload: closePayload(1000) }),
        buildFrame({ opcode: text, payload: 'ignored' }),
        buildFrame({ opcode: 3 }),
      ]),
    );
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['close', 'closeTransport'],
    );
  });
});

describe('sending', () => {
  test('client frames are masked, each with a fresh key', () => {
    const r = recordingConnection({ role: 'client' });
    for (let i = 0; i < 500; i++) r.connection.sendBinary(Buffer.alloc(4));
    const frames = r.sent();
    assert.ok(frames.every((f) => f.masked && f.payload.equals(Buffer.alloc(4))));
    // Each frame is 2 header bytes, the 4-byte key, then 4 masked zeros (= the key).
    const raw = r.raw();
    assert.equal(raw.length, 500 * 10);
    const keys = new Set<string>();
    for (let i = 0; i < 500; i++) keys.add(raw.subarray(i * 10 + 2, i * 10 + 6).toString('hex'));
    assert.ok(keys.size >= 499, `only ${keys.size} distinct keys in 500 frames`);
  });

  test('the masking keys come from the configured random source', () => {
    let calls = 0;
    const r = recordingConnection({
      role: 'client',
      randomFill: (t) => {
        calls++;
        t.fill(0xab);
      },
    });
    r.connection.sendText('hi');
    assert.equal(calls, 1);
    assert.deepEqual([...r.raw().subarray(2, 6)], [0xab, 0xab, 0xab, 0xab]);
  });

  test('server frames use minimal lengths', () => {
    const r = recordingConnection();
    r.connection.sendBinary(Buffer.alloc(125));
    r.connection.sendBinary(Buffer.alloc(126));
    r.connection.sendBinary(Buffer.alloc(65536));
    const f = r.sent();
    assert.deepEqual(
      f.map((x) => x.payload.length),
      [125, 126, 65536],
    );
  });

  test('fragmented sending: first frame typed, then continuations', () => {
    const r = recordingConnection();
    r.connection.sendText('a', false);
    r.connection.ping(Buffer.from('between'));
    r.connection.sendText('b', false);
    assert.throws(() => r.connection.sendBinary(Buffer.from('x')), InvalidStateError);
    r.connection.sendText('c', true);
    r.connection.sendBinary(Buffer.from('next'));
    assert.deepEqual(
      r.sent().map((f) => [f.opcode, f.fin]),
      [
        [text, false],
        [ping, true],
        [cont, false],
        [cont, true],
        [binary, true],
      ],
    );
  });

  test('control payloads above 125 bytes are refused', () => {
    const r = recordingConnection();
    assert.throws(() => r.connection.ping(Buffer.alloc(126)), RangeError);
  });
});
