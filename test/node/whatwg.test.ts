import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloseEvent, WebSocket } from '../../src/node/whatwg.js';
import { type CaseEnv, cases } from './whatwg-cases.js';
import { startWhatwgFixture } from './whatwg-fixture.js';

/** The shared WHATWG cases against socketeer's WebSocket (Chromium runs the same file). */

describe('WHATWG WebSocket (socketeer, in Node)', () => {
  let fixture: Awaited<ReturnType<typeof startWhatwgFixture>>;
  before(async () => {
    fixture = await startWhatwgFixture();
  });
  after(() => fixture.close());

  for (const c of cases) {
    test(c.name, () =>
      c.run({ WebSocket: WebSocket as unknown as CaseEnv['WebSocket'], CloseEvent, base: fixture.base }),
    );
  }
});

describe('WHATWG WebSocket: Node-only behaviour', () => {
  let fixture: Awaited<ReturnType<typeof startWhatwgFixture>>;
  before(async () => {
    fixture = await startWhatwgFixture();
  });
  after(() => fixture.close());

  async function open(path = '/echo') {
    const ws = new WebSocket(`${fixture.base}${path}`);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onclose = () => reject(new Error('closed before open'));
    });
    return ws;
  }

  async function closed(ws: WebSocket): Promise<CloseEvent> {
    if (ws.readyState === WebSocket.CLOSED) throw new Error('already closed');
    return new Promise((resolve) => ws.addEventListener('close', (e) => resolve(e as CloseEvent)));
  }

  test('close codes follow WebIDL [Clamp]: fractions round to the nearest integer, halves to even', async () => {
    const ws = await open();
    assert.throws(() => ws.close(1000.6), { name: 'InvalidAccessError' });
    assert.throws(() => ws.close(4999.5), { name: 'InvalidAccessError' }); // halfway: to 5000, the even one
    const done = closed(ws);
    ws.close(1000.5); // halfway: to 1000, the even one
    assert.equal((await done).code, 1000);
  });

  test("binaryType 'nodebuffer' delivers Buffers", async () => {
    const ws = await open();
    ws.binaryType = 'nodebuffer';
    const data = await new Promise((resolve) => {
      ws.onmessage = (e) => resolve((e as MessageEvent).data);
      ws.send(new Uint8Array([7, 8]));
    });
    assert.ok(Buffer.isBuffer(data));
    assert.deepEqual([...(data as Buffer)], [7, 8]);
    const done = closed(ws);
    ws.close();
    await done;
  });

  test('views queued behind a Blob are copied: the caller may reuse its buffer at once', async () => {
    const ws = await open();
    ws.binaryType = 'nodebuffer';
    const received: Buffer[] = [];
    const all = new Promise<void>((resolve) => {
      ws.onmessage = (e) => {
        received.push((e as MessageEvent).data);
        if (received.length === 2) resolve();
      };
    });
    const reused = new Uint8Array([1, 2, 3]);
    ws.send(new Blob(['blob']));
    ws.send(reused);
    assert.equal(ws.bufferedAmount >= 3 + 4, true, 'queued bytes are counted');
    reused.fill(0);
    await all;
    assert.deepEqual(
      received.map((b) => [...b]),
      [[...Buffer.from('blob')], [1, 2, 3]],
    );
    const done = closed(ws);
    ws.close();
    await done;
  });

  test('client options pass through the third argument; unknown ones are refused', () => {
    assert.throws(() => new WebSocket(`${fixture.base}/echo`, [], { nope: 1 } as never), /nope/);
  });

  test('a relative URL has no base document to resolve against: SyntaxError', () => {
    assert.throws(() => new WebSocket('/chat'), { name: 'SyntaxError' });
  });

  test('CloseEvent defaults and init', () => {
    const plain = new CloseEvent('close');
    assert.deepEqual([plain.wasClean, plain.code, plain.reason], [false, 0, '']);
    const init = new CloseEvent('close', { wasClean: true, code: 4000, reason: 'x' });
    assert.deepEqual([init.type, init.wasClean, init.code, init.reason], ['close', true, 4000, 'x']);
  });
});
