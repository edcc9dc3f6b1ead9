import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { NotSentError, ReplyError, TimeoutError } from '../../src/messaging/client/errors.js';
import { Outbox } from '../../src/messaging/client/outbox.js';

/** Records what the outbox puts on the wire. */
function wire() {
  const frames: Array<{ id: number; cmd: string; params: unknown }> = [];
  return { frames, send: (frame: string) => void frames.push(JSON.parse(frame)) };
}

const publish = (label = 'publish') => ({ timeout: 1000, repeatable: true, label });

describe('Outbox', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('online: sends at once with increasing ids; the reply with that id settles it', async () => {
    const outbox = new Outbox(10);
    const w = wire();
    outbox.online(w.send);
    const first = outbox.request('publish', { channel: 'a', data: 1, key: 'k1' }, publish());
    const second = outbox.request('history', { channel: 'a' }, publish());
    assert.deepEqual(
      w.frames.map((f) => [f.id, f.cmd]),
      [
        [1, 'publish'],
        [2, 'history'],
      ],
    );
    assert.equal(outbox.inFlight, 2);
    assert.equal(outbox.reply(2, { publications: [] }, undefined), true);
    assert.equal(outbox.reply(1, { epoch: 'e', offset: 7 }, undefined), true);
    assert.deepEqual(await first, { epoch: 'e', offset: 7 });
    assert.deepEqual(await second, { publications: [] });
    assert.equal(outbox.reply(1, {}, undefined), false, 'a second reply with the same id is not routed');
    assert.equal(outbox.inFlight, 0);
  });

  test('an error reply rejects with ReplyError carrying code and temporary', async () => {
    const outbox = new Outbox(10);
    const w = wire();
    outbox.online(w.send);
    const p = outbox.request('rpc', {}, { timeout: 1000, repeatable: false, label: 'rpc "m"' });
    outbox.reply(w.frames[0]!.id, undefined, {
      code: 'internal',
      message: 'handler failed',
      temporary: true,
    });
    const error = await p.then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ReplyError);
    assert.equal(error.code, 'internal');
    assert.equal(error.temporary, true);
    assert.match(error.message, /rpc "m": internal: handler failed/);
    const q = outbox.request('publish', {}, publish('publish to "x"'));
    outbox.reply(w.frames[1]!.id, undefined, { code: 'permission-denied', message: 'no', temporary: false });
    await assert.rejects(q, (e: Error) => e instanceof ReplyError && e.code === 'permission-denied');
  });

  test('a temporary refusal of a repeatable command is retried after a growing delay until it succeeds', async () => {
    const outbox = new Outbox(10, () => 0.5);
    const w = wire();
    outbox.online(w.send);
    const p = outbox.request(
      'publish',
      { key: 'k' },
      { timeout: 10_000, repeatable: true, label: 'publish' },
    );
    const busy = { code: 'too-many-requests', message: 'slow down', temporary: true } as const;
    outbox.reply(w.frames[0]!.id, undefined, busy);
    mock.timers.tick(74); // first window 100 ms: 50 fixed + 0.5 x 50
    assert.equal(w.frames.length, 1);
    mock.timers.tick(1);
    assert.equal(w.frames.length, 2, 'sent again');
    assert.deepEqual(w.frames[1]!.params, { key: 'k' });
    outbox.reply(w.frames[1]!.id, undefined, busy);
    mock.timers.tick(149); // second window 200 ms: 100 + 50
    assert.equal(w.frames.length, 2);
    mock.timers.tick(1);
    assert.equal(w.frames.length, 3);
    outbox.reply(w.frames[2]!.id, { offset: 9 }, undefined);
    assert.deepEqual(await p, { offset: 9 });
  });

  test('a command still refused at its timeout fails saying why; one waiting to retry is sent once back online', async () => {
    const outbox = new Outbox(10, () => 0);
    const w = wire();
    outbox.online(w.send);
    const busy = { code: 'unavailable', message: 'engine down', temporary: true } as const;
    const p = outbox.request('history', {}, { timeout: 300, repeatable: true, label: 'history of "a"' });
    outbox.reply(w.frames[0]!.id, undefined, busy);
    outbox.offline('closed'); // while it waits to retry
    mock.timers.tick(50);
    assert.equal(outbox.queued, 1, 'due while offline: queued');
    const w2 = wire();
    outbox.online(w2.send);
    assert.equal(w2.frames.length, 1);
    outbox.reply(w2.frames[0]!.id, undefined, busy);
    mock.timers.tick(250);
    await assert.rejects(
      p,
      (e: Error) =>
        e instanceof TimeoutError && /after 300 ms: still refused: unavailable: engine down/.test(e.message),
    );
    assert.equal(outbox.queued, 0);
    assert.equal(outbox.inFlight, 0);
  });

  test('offline: queued in order, sent once when online, each exactly once', async () => {
    const outbox = new Outbox(10);
    const results = [1, 2, 3].map((n) => outbox.request('publish', { data: n, key: `k${n}` }, publish()));
    assert.equal(outbox.queued, 3);
    const w = wire();
    outbox.online(w.send);
    assert.deepEqual(
      w.frames.map((f) => (f.params as { data: number }).data),
      [1, 2, 3],
    );
    assert.equal(outbox.queued, 0);
    for (const f of w.frames) outbox.reply(f.id, { offset: f.id }, undefined);
    assert.deepEqual(await Promise.all(results), [{ offset: 1 }, { offset: 2 }, { offset: 3 }]);
    outbox.online(w.send);
    assert.equal(w.frames.length, 3, 'nothing sent twice');
  });

  test('connection lost in flight: repeatable commands are re-sent (same params, new id), rpc fails', async () => {
    const outbox = new Outbox(10);
    const w1 = wire();
    outbox.online(w1.send);
    const pub = outbox.request('publish', { data: 'x', key: 'k1' }, publish());
    const rpc = outbox.request(
      'rpc',
      { method: 'm' },
      { timeout: 1000, repeatable: false, label: 'rpc "m"' },
    );
    outbox.offline('closed with 1006');
    await assert.rejects(
      rpc,
      (e: Error) => e instanceof NotSentError && /rpc "m": connection lost.*1006/.test(e.message),
    );
    assert.equal(outbox.queued, 1);
    const w2 = wire();
    outbox.online(w2.send);
    assert.equal(w2.frames.length, 1);
    assert.deepEqual(w2.frames[0]!.params, { data: 'x', key: 'k1' });
    assert.notEqual(w2.frames[0]!.id, w1.frames[0]!.id);
    assert.equal(outbox.reply(w1.frames[0]!.id, { offset: 1 }, undefined), false, 'the old id is forgotten');
    outbox.reply(w2.frames[0]!.id, { offset: 1 }, undefined);
    assert.deepEqual(await pub, { offset: 1 });
  });

  test('the offline queue is bounded: beyond it a command is rejected at once, saying so', async () => {
    const outbox = new Outbox(2);
    const kept = [outbox.request('publish', {}, publish()), outbox.request('publish', {}, publish())];
    await assert.rejects(
      outbox.request('publish', {}, publish('publish to "c"')),
      (e: Error) =>
        e instanceof NotSentError && /publish to "c" not sent: the offline queue is full \(2/.test(e.message),
    );
    const w = wire();
    outbox.online(w.send);
    assert.equal(w.frames.length, 2);
    // Online, the bound does not apply (nothing waits).
    outbox.request('publish', {}, publish()).catch(() => {});
    assert.equal(w.frames.length, 3);
    for (const f of w.frames) outbox.reply(f.id, {}, undefined);
    await Promise.all(kept);
  });

  test('timeout while queued: TimeoutError says it was never sent, and it never is', async () => {
    const outbox = new Outbox(5);
    const p = outbox.request('publish', {}, publish('publish to "c"'));
    mock.timers.tick(1000);
    await assert.rejects(
      p,
      (e: Error) => e instanceof TimeoutError && /no connection to send it on/.test(e.message),
    );
    assert.equal(outbox.queued, 0);
    const w = wire();
    outbox.online(w.send);
    assert.equal(w.frames.length, 0);
  });

  test('timeout after sending: a publish says it may have been accepted; a late reply is ignored', async () => {
    const outbox = new Outbox(5);
    const w = wire();
    outbox.online(w.send);
    const p = outbox.request('publish', {}, publish('publish to "c" (key k9)'));
    mock.timers.tick(999);
    assert.equal(outbox.inFlight, 1);
    mock.timers.tick(1);
    await assert.rejects(
      p,
      (e: Error) =>
        e instanceof TimeoutError && /k9.*after 1000 ms.*may have been accepted.*same key/.test(e.message),
    );
    assert.equal(outbox.reply(w.frames[0]!.id, {}, undefined), false);
  });

  test('direct commands bypass the queue and fail (not re-sent) when the connection drops', async () => {
    const outbox = new Outbox(0);
    const w = wire();
    const p = outbox.direct(w.send, 'connect', { subs: {} }, 'connect', 1000);
    assert.equal(w.frames[0]!.cmd, 'connect');
    outbox.offline('gone');
    await assert.rejects(p, NotSentError);
  });

  test('failAll rejects queued and in-flight commands; a send that throws is handled like a lost connection', async () => {
    const outbox = new Outbox(5);
    const queued = outbox.request('history', {}, publish('history of "a"'));
    outbox.online(() => {
      throw new Error('socket closing');
    });
    assert.equal(outbox.inFlight, 1, 'stays in flight; the close event re-queues it');
    outbox.offline('closed');
    assert.equal(outbox.queued, 1);
    outbox.failAll('closed by the application');
    await assert.rejects(queued, /history of "a" not completed: closed by the application/);
    assert.equal(outbox.queued, 0);
    assert.equal(outbox.inFlight, 0);
  });
});
