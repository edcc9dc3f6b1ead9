import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Subscription, type SubscriptionHost } from '../../src/messaging/client/subscription.js';
import type { Publication, SubscribeResult } from '../../src/messaging/protocol.js';

/**
 * The subscription's state machine on its own: a host that records what the
 * subscription asks its client to do. (The same paths against a real hub are
 * in client.test.ts.)
 */
function setup(since?: { epoch: string; offset: number }) {
  const asked: string[] = [];
  const host: SubscriptionHost = {
    requestSubscribe: () => void asked.push('subscribe'),
    requestResubscribe: () => void asked.push('resubscribe'),
    requestUnsubscribe: () => void asked.push('unsubscribe'),
    publish: () => Promise.reject(new Error('unused')),
    history: () => Promise.reject(new Error('unused')),
    presence: () => Promise.reject(new Error('unused')),
    presenceStats: () => Promise.reject(new Error('unused')),
  };
  const sub = new Subscription(host, 'room', since);
  const events: string[] = [];
  sub.on('publication', (p) => events.push(`pub ${p.epoch}:${p.offset}`));
  sub.on('subscribing', (e) => events.push(`subscribing (${e.reason})`));
  sub.on('subscribed', (e) =>
    events.push(
      `subscribed ${e.epoch}:${e.offset}${e.recovered === undefined ? '' : ` recovered=${e.recovered}`}`,
    ),
  );
  sub.on('unsubscribed', (e) => events.push(`unsubscribed ${e.code} ${e.reason}`));
  sub.on('join', (e) => events.push(`join ${e.info.client}`));
  return { sub, asked, events };
}

const pub = (offset: number, epoch = 'e1'): Publication => ({ offset, epoch, data: offset, ts: 0 });
const reply = (epoch: string, offset: number, recovered?: boolean): SubscribeResult => ({
  epoch,
  offset,
  presence: false,
  joinLeave: false,
  ...(recovered === undefined ? {} : { recovered }),
});

describe('Subscription', () => {
  test('fresh: the stream starts after the reply position; earlier pushes are not delivered', () => {
    const { sub, events } = setup();
    assert.deepEqual(sub._begin('subscribe'), {});
    sub._publication(pub(3));
    sub._publication(pub(4));
    sub._subscribed(reply('e1', 3));
    sub._publication(pub(5));
    assert.deepEqual(events, ['subscribing (subscribe)', 'subscribed e1:3', 'pub e1:4', 'pub e1:5']);
    assert.equal(sub.state, 'subscribed');
    assert.deepEqual(sub.position, { epoch: 'e1', offset: 5 });
  });

  test('recovery: announced first, then the missed publications in offset order, once', () => {
    const { sub, events } = setup({ epoch: 'e1', offset: 2 });
    assert.deepEqual(sub._begin('connecting'), { since: { epoch: 'e1', offset: 2 } });
    for (const o of [4, 3, 3, 2, 5]) sub._publication(pub(o));
    sub._subscribed(reply('e1', 5, true));
    sub._publication(pub(5));
    sub._publication(pub(6));
    assert.deepEqual(events, [
      'subscribing (connecting)',
      'subscribed e1:5 recovered=true',
      'pub e1:3',
      'pub e1:4',
      'pub e1:5',
      'pub e1:6',
    ]);
  });

  test('recovered: false is said plainly and the stream restarts from the reply position', () => {
    const { sub, events } = setup({ epoch: 'old', offset: 40 });
    sub._begin('connecting');
    sub._publication(pub(9, 'e2'));
    sub._subscribed(reply('e2', 10, false));
    sub._publication(pub(11, 'e2'));
    assert.deepEqual(events, ['subscribing (connecting)', 'subscribed e2:10 recovered=false', 'pub e2:11']);
  });

  test('a live gap is not delivered: the subscription recovers from its last position', () => {
    const { sub, events, asked } = setup();
    sub._begin('subscribe');
    sub._subscribed(reply('e1', 0));
    sub._publication(pub(1));
    sub._publication(pub(3));
    sub._publication(pub(4));
    assert.deepEqual(asked, ['resubscribe']);
    assert.equal(sub.state, 'subscribing');
    assert.deepEqual(sub._begin('recovering'), { since: { epoch: 'e1', offset: 1 } });
    for (const o of [2, 3, 4]) sub._publication(pub(o));
    sub._subscribed(reply('e1', 4, true));
    assert.deepEqual(events, [
      'subscribing (subscribe)',
      'subscribed e1:0',
      'pub e1:1',
      'subscribing (gap after offset 1)',
      'subscribed e1:4 recovered=true',
      'pub e1:2',
      'pub e1:3',
      'pub e1:4',
    ]);
  });

  test('an epoch change on a live subscription recovers too', () => {
    const { sub, events, asked } = setup();
    sub._begin('subscribe');
    sub._subscribed(reply('e1', 7));
    sub._publication(pub(1, 'e2'));
    assert.deepEqual(asked, ['resubscribe']);
    assert.equal(events.at(-1), 'subscribing (epoch changed after offset 7)');
  });

  test('a recovery that claims success but delivered less than the reply position recovers again', () => {
    const { sub, asked, events } = setup({ epoch: 'e1', offset: 2 });
    sub._begin('connecting');
    sub._publication(pub(3));
    sub._subscribed(reply('e1', 5, true));
    assert.deepEqual(asked, ['resubscribe']);
    assert.deepEqual(events.slice(-2), ['pub e1:3', 'subscribing (gap after offset 3 in recovery)']);
  });

  test('join/leave only while subscribed; suspend keeps the position for the next connect', () => {
    const { sub, events } = setup();
    sub._presence('join', { user: 'u', client: 'c0' });
    sub._begin('subscribe');
    sub._subscribed(reply('e1', 1));
    sub._presence('join', { user: 'u', client: 'c1' });
    sub._suspend('connection lost');
    sub._presence('join', { user: 'u', client: 'c2' });
    assert.deepEqual(events.slice(-2), ['join c1', 'subscribing (connection lost)']);
    assert.deepEqual(sub._begin('connecting'), { since: { epoch: 'e1', offset: 1 } });
  });

  test('ready(): resolves when subscribed, rejects when refused or the client stops', async () => {
    const a = setup();
    a.sub._begin('subscribe');
    const ready = a.sub.ready();
    a.sub._subscribed(reply('e', 0));
    await ready;
    await a.sub.ready();

    const b = setup();
    b.sub._begin('subscribe');
    const refused = b.sub.ready();
    b.sub._end(0, 'permission-denied', new Error('subscribe: permission-denied'));
    await assert.rejects(refused, /permission-denied/);
    await assert.rejects(b.sub.ready(), /not subscribed/);

    const c = setup();
    c.sub._begin('subscribe');
    const stopped = c.sub.ready();
    c.sub._stopped('server said do not reconnect');
    await assert.rejects(stopped, /do not reconnect/);
    assert.equal(c.sub.state, 'subscribing', 'kept for a later connect()');
  });

  test('unsubscribe(): tells the client, announces code 0, drops later pushes; subscribe() starts again', () => {
    const { sub, events, asked } = setup();
    sub._begin('subscribe');
    sub._subscribed(reply('e1', 0));
    sub.unsubscribe();
    sub._publication(pub(1));
    assert.deepEqual(asked, ['unsubscribe']);
    assert.deepEqual(events.slice(-1), ['unsubscribed 0 unsubscribed by the application']);
    sub.unsubscribe();
    assert.deepEqual(asked, ['unsubscribe'], 'idempotent');
    sub.subscribe();
    assert.deepEqual(asked, ['unsubscribe', 'subscribe']);
  });
});
