import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseExtensions } from '../../src/protocol/headers.js';
import { acceptOffer, acceptResponse, buildOffer } from '../../src/protocol/permessage-deflate.js';
import { buildFrame, recordingConnection } from '../helpers.js';

const offers = (header: string) => parseExtensions(header)!;

describe('server: accepting offers', () => {
  const cases: Array<[string, object, string | null]> = [
    ['permessage-deflate', {}, 'permessage-deflate'],
    ['permessage-deflate; client_max_window_bits', {}, 'permessage-deflate'],
    ['permessage-deflate; client_max_window_bits=10', {}, 'permessage-deflate; client_max_window_bits=10'],
    [
      'permessage-deflate; client_max_window_bits',
      { clientMaxWindowBits: 9 },
      'permessage-deflate; client_max_window_bits=9',
    ],
    ['permessage-deflate; server_max_window_bits=12', {}, 'permessage-deflate; server_max_window_bits=12'],
    [
      'permessage-deflate; server_max_window_bits=12',
      { serverMaxWindowBits: 10 },
      'permessage-deflate; server_max_window_bits=10',
    ],
    ['permessage-deflate', { serverMaxWindowBits: 11 }, 'permessage-deflate; server_max_window_bits=11'],
    [
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      {},
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    ],
    [
      'permessage-deflate',
      { serverNoContextTakeover: true },
      'permessage-deflate; server_no_context_takeover',
    ],
    // Declined offers: the connection goes on uncompressed.
    ['permessage-deflate; unknown_param', {}, null],
    ['permessage-deflate; server_max_window_bits=16', {}, null],
    ['permessage-deflate; server_max_window_bits=7', {}, null],
    ['permessage-deflate; server_max_window_bits', {}, null],
    ['permessage-deflate; server_max_window_bits=010', {}, null],
    ['permessage-deflate; client_max_window_bits=abc', {}, null],
    ['permessage-deflate; server_no_context_takeover=1', {}, null],
    ['permessage-deflate; server_max_window_bits=10; server_max_window_bits=10', {}, null],
    ['x-webkit-deflate-frame', {}, null],
    // The client cannot be limited when it did not offer client_max_window_bits.
    ['permessage-deflate', { clientMaxWindowBits: 10 }, null],
  ];
  for (const [offer, config, expected] of cases) {
    test(`${offer} ${JSON.stringify(config)} -> ${expected}`, () => {
      assert.equal(acceptOffer(offers(offer), config)?.response ?? null, expected);
    });
  }

  test('the first acceptable of several alternatives wins', () => {
    const result = acceptOffer(
      offers(
        'permessage-deflate; bogus, permessage-deflate; server_max_window_bits=9; client_max_window_bits, permessage-deflate',
      ),
      {},
    );
    assert.equal(result?.response, 'permessage-deflate; server_max_window_bits=9');
    assert.deepEqual(result?.params, {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 9,
      clientMaxWindowBits: 15,
    });
  });
});

describe('client: offer and response', () => {
  test('offers', () => {
    assert.equal(buildOffer({}), 'permessage-deflate; client_max_window_bits');
    assert.equal(
      buildOffer({ serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }),
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
  });

  const responses: Array<[string, object, string | object | null]> = [
    ['', {}, null],
    [
      'permessage-deflate',
      {},
      {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
      },
    ],
    [
      'permessage-deflate; server_no_context_takeover; client_max_window_bits=9',
      {},
      {
        serverNoContextTakeover: true,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 9,
      },
    ],
    ['permessage-deflate; client_max_window_bits', {}, /needs a value in a response/],
    ['permessage-deflate; foo', {}, /unknown parameter foo/],
    ['permessage-deflate, permessage-deflate', {}, /more than once/],
    ['permessage-deflate', { serverNoContextTakeover: true }, /did not agree to server_no_context_takeover/],
    ['permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }, /did not limit/],
    [
      'permessage-deflate; client_max_window_bits=12',
      { clientMaxWindowBits: 10 },
      /raised client_max_window_bits/,
    ],
  ];
  for (const [header, config, expected] of responses) {
    test(`response "${header}" ${JSON.stringify(config)}`, () => {
      const result = acceptResponse(header ? offers(header) : [], config);
      if (expected instanceof RegExp) assert.match(String(result), expected);
      else assert.deepEqual(result, expected);
    });
  }
});

describe('core: RSV1 with compression negotiated', () => {
  test('RSV1 on a continuation or control frame fails with 1002', () => {
    for (const frames of [
      [
        buildFrame({ opcode: 1, payload: 'a', fin: false, rsv: 4 }),
        buildFrame({ opcode: 0, payload: 'b', rsv: 4 }),
      ],
      [buildFrame({ opcode: 9, payload: 'p', rsv: 4 })],
    ]) {
      const r = recordingConnection({ compression: true });
      r.feed(Buffer.concat(frames));
      assert.equal(r.sentCloseCode(), 1002);
    }
  });

  test('reading pauses on a compressed message until it is delivered; order is kept', () => {
    const compressed: Array<[Buffer, boolean]> = [];
    const r = recordingConnection({ compression: true });
    const connection = r.connection;
    (connection as unknown as { handler: { onCompressedMessage: unknown } }).handler.onCompressedMessage = (
      payload: Buffer,
      isText: boolean,
    ) => compressed.push([Buffer.from(payload), isText]);
    r.feed(
      Buffer.concat([
        buildFrame({ opcode: 1, payload: 'squeezed', rsv: 4 }),
        buildFrame({ opcode: 1, payload: 'plain after' }),
        buildFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }),
      ]),
    );
    assert.equal(compressed.length, 1);
    assert.equal(r.events.length, 0, 'nothing after the compressed message is processed yet');
    connection.deliverInflated(Buffer.from('inflated text'), true);
    assert.deepEqual(
      r.events.map((e) => (e.type === 'text' ? e.data : e.type)),
      ['inflated text', 'plain after', 'close', 'closeTransport'],
    );
  });

  test('inflated text that is not UTF-8 fails with 1007', () => {
    const r = recordingConnection({ compression: true });
    (r.connection as unknown as { handler: { onCompressedMessage: unknown } }).handler.onCompressedMessage =
      () => {};
    r.feed(buildFrame({ opcode: 1, payload: 'x', rsv: 4 }));
    r.connection.deliverInflated(Buffer.from([0xc3, 0x28]), true);
    assert.equal(r.sentCloseCode(), 1007);
  });
});

test('pausing again while draining the backlog keeps the order of the waiting bytes', () => {
  const r = recordingConnection({ compression: true });
  const pending: string[] = [];
  (r.connection as unknown as { handler: { onCompressedMessage: unknown } }).handler.onCompressedMessage = (
    payload: Buffer,
  ) => pending.push(payload.toString());
  r.feed(buildFrame({ opcode: 1, payload: 'A', rsv: 4 }));
  // While paused: a chunk with another compressed message followed by a plain one, then one more chunk.
  r.feed(
    Buffer.concat([buildFrame({ opcode: 1, payload: 'B', rsv: 4 }), buildFrame({ opcode: 1, payload: 'C' })]),
  );
  r.feed(buildFrame({ opcode: 1, payload: 'D' }));
  r.connection.deliverInflated(Buffer.from('a'), true);
  r.connection.deliverInflated(Buffer.from('b'), true);
  assert.deepEqual(pending, ['A', 'B']);
  assert.deepEqual(
    r.events.map((e) => (e.type === 'text' ? e.data : e.type)),
    ['a', 'b', 'C', 'D'],
  );
});
