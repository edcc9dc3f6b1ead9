/**
 * The engine contract (src/messaging/engine.ts) as one test suite, run against
 * every engine: `runEngineContract('memory', () => new MemoryEngine())`.
 * Each test starts its own engine and uses fresh channel names, so engines
 * that share a backing store (one Redis for the whole suite) work too.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import type { Engine, EngineHandler, HistoryOptions } from '../../src/messaging/engine.js';
import type { ClientInfo, Publication } from '../../src/messaging/protocol.js';

export interface EngineContractOptions {
  /**
   * Break the engine's live feed the way real failures do (e.g. CLIENT KILL
   * TYPE pubsub). After it, the engine must either deliver every publication
   * in order or call handler.resync for the affected channels. Omit when the
   * engine has no feed that can break (memory).
   */
  interruptFeed?: (engine: Engine) => Promise<void>;
  /** Upper bound for waits on TTL expiry (ms, default 5000). */
  expiryDeadline?: number;
}

type Event =
  | { kind: 'pub'; channel: string; pub: Publication }
  | { kind: 'join' | 'leave'; channel: string; info: ClientInfo }
  | { kind: 'resync'; channels: readonly string[] }
  | { kind: 'readiness'; ready: boolean };

/** Records everything the engine tells the hub, and lets a test wait for a condition on it. */
export class Recorder implements EngineHandler {
  readonly events: Event[] = [];
  private waiters: Array<() => void> = [];

  publication(channel: string, pub: Publication): void {
    this.push({ kind: 'pub', channel, pub });
  }
  join(channel: string, info: ClientInfo): void {
    this.push({ kind: 'join', channel, info });
  }
  leave(channel: string, info: ClientInfo): void {
    this.push({ kind: 'leave', channel, info });
  }
  resync(channels: readonly string[]): void {
    this.push({ kind: 'resync', channels });
  }
  readiness(ready: boolean): void {
    this.push({ kind: 'readiness', ready });
  }

  pubs(channel: string): Publication[] {
    return this.events.flatMap((e) => (e.kind === 'pub' && e.channel === channel ? [e.pub] : []));
  }

  private push(event: Event): void {
    this.events.push(event);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Wait for `predicate` to hold, re-checking on every event (and every 20 ms for time-based conditions). */
  async until(predicate: () => boolean | Promise<boolean>, what: string, deadlineMs = 5000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

const HISTORY: HistoryOptions = { size: 100, ttlMs: 60_000 };

function info(user: string, client: string, extra?: unknown): ClientInfo {
  return extra === undefined ? { user, client } : { user, client, info: extra };
}

export function runEngineContract(
  name: string,
  makeEngine: () => Engine | Promise<Engine>,
  options: EngineContractOptions = {},
): void {
  const expiryDeadline = options.expiryDeadline ?? 5000;
  const engines: Engine[] = [];
  const prefix = `contract-${randomBytes(4).toString('hex')}`;
  let n = 0;
  const channel = (label = 'c') => `${prefix}-${label}-${++n}`;

  async function started(): Promise<{ engine: Engine; events: Recorder }> {
    const engine = await makeEngine();
    engines.push(engine);
    const events = new Recorder();
    await engine.start(events);
    return { engine, events };
  }

  describe(`engine contract: ${name}`, () => {
    afterEach(async () => {
      await Promise.all(engines.splice(0).map((e) => e.close()));
    });

    test('ready after start; offsets are 1, 2, 3 ... per channel in one epoch', async () => {
      const { engine } = await started();
      assert.equal(engine.ready(), true);
      const a = channel();
      const b = channel();
      const results = [];
      for (let i = 0; i < 3; i++)
        results.push(await engine.publish({ channel: a, data: i, history: HISTORY }));
      assert.deepEqual(
        results.map((r) => r.offset),
        [1, 2, 3],
      );
      assert.equal(new Set(results.map((r) => r.epoch)).size, 1);
      assert.ok(results.every((r) => r.duplicate === false));
      assert.equal(typeof results[0]!.epoch, 'string');
      assert.ok(results[0]!.epoch.length > 0);
      const other = await engine.publish({ channel: b, data: 'x', history: HISTORY });
      assert.equal(other.offset, 1, 'each channel has its own offsets');
    });

    test('concurrent publishes get distinct, gap-free offsets', async () => {
      const { engine } = await started();
      const c = channel();
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) => engine.publish({ channel: c, data: i, history: HISTORY })),
      );
      const offsets = outcomes.map((o) => o.offset).sort((x, y) => x - y);
      assert.deepEqual(
        offsets,
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    test('an empty channel has a stable epoch and offset 0, kept by its first publish', async () => {
      const { engine } = await started();
      const c = channel();
      const empty = await engine.history({ channel: c, limit: 0 });
      assert.equal(empty.top.offset, 0);
      assert.deepEqual(empty.publications, []);
      const again = await engine.history({ channel: c, limit: 10 });
      assert.equal(again.top.epoch, empty.top.epoch);
      const first = await engine.publish({ channel: c, data: 1, history: HISTORY });
      assert.equal(
        first.epoch,
        empty.top.epoch,
        'a subscriber at {epoch, 0} must be able to recover offset 1',
      );
    });

    test('history: stored data, info and ts; since, limit, reverse, limit 0', async () => {
      const { engine } = await started();
      const c = channel();
      const who = info('alice', 'c1', { name: 'Alice' });
      const before = Date.now();
      for (let i = 1; i <= 5; i++) {
        await engine.publish({ channel: c, data: { i }, info: i === 1 ? who : undefined, history: HISTORY });
      }
      const all = await engine.history({ channel: c, limit: 100 });
      assert.equal(all.top.offset, 5);
      assert.deepEqual(
        all.publications.map((p) => p.offset),
        [1, 2, 3, 4, 5],
      );
      assert.deepEqual(all.publications[0]!.data, { i: 1 });
      assert.deepEqual(all.publications[0]!.info, who);
      assert.equal(all.publications[1]!.info, undefined);
      assert.ok(all.publications.every((p) => p.epoch === all.top.epoch));
      assert.ok(all.publications[0]!.ts >= before - 1000 && all.publications[0]!.ts <= Date.now() + 1000);
      const since = await engine.history({
        channel: c,
        since: { epoch: all.top.epoch, offset: 2 },
        limit: 2,
      });
      assert.deepEqual(
        since.publications.map((p) => p.offset),
        [3, 4],
      );
      const reverse = await engine.history({ channel: c, limit: 2, reverse: true });
      assert.deepEqual(
        reverse.publications.map((p) => p.offset),
        [5, 4],
      );
      const sinceReverse = await engine.history({
        channel: c,
        since: { epoch: all.top.epoch, offset: 1 },
        limit: 2,
        reverse: true,
      });
      assert.deepEqual(
        sinceReverse.publications.map((p) => p.offset),
        [5, 4],
      );
      const topOnly = await engine.history({ channel: c, limit: 0 });
      assert.deepEqual(topOnly.publications, []);
      assert.deepEqual(topOnly.top, all.top);
      const atTop = await engine.history({ channel: c, since: all.top, limit: 10 });
      assert.deepEqual(atTop.publications, []);
      const ahead = await engine.history({
        channel: c,
        since: { epoch: all.top.epoch, offset: 99 },
        limit: 10,
      });
      assert.deepEqual(ahead.publications, []);
    });

    test('history: a since from another epoch starts from the oldest retained', async () => {
      const { engine } = await started();
      const c = channel();
      for (let i = 1; i <= 3; i++) await engine.publish({ channel: c, data: i, history: HISTORY });
      const page = await engine.history({
        channel: c,
        since: { epoch: 'some-old-epoch', offset: 2 },
        limit: 10,
      });
      assert.deepEqual(
        page.publications.map((p) => p.offset),
        [1, 2, 3],
      );
      assert.notEqual(page.top.epoch, 'some-old-epoch');
    });

    test('history is trimmed to size; size 0 keeps none but offsets still advance', async () => {
      const { engine } = await started();
      const c = channel();
      for (let i = 1; i <= 10; i++)
        await engine.publish({ channel: c, data: i, history: { size: 3, ttlMs: 60_000 } });
      const page = await engine.history({ channel: c, limit: 100 });
      assert.deepEqual(
        page.publications.map((p) => p.offset),
        [8, 9, 10],
      );
      assert.equal(page.top.offset, 10);
      const none = channel();
      await engine.publish({ channel: none, data: 1, history: { size: 0, ttlMs: 60_000 } });
      const second = await engine.publish({ channel: none, data: 2, history: { size: 0, ttlMs: 60_000 } });
      assert.equal(second.offset, 2);
      const empty = await engine.history({ channel: none, limit: 100 });
      assert.deepEqual(empty.publications, []);
      assert.deepEqual(empty.top, { epoch: second.epoch, offset: 2 });
    });

    test('history expires after its TTL: never silently (epoch changes, or the gap shows)', async () => {
      const { engine, events } = await started();
      const c = channel();
      const first = await engine.publish({ channel: c, data: 1, history: { size: 10, ttlMs: 200 } });
      await events.until(
        async () => (await engine.history({ channel: c, limit: 10 })).publications.length === 0,
        'the publication to expire',
        expiryDeadline,
      );
      const page = await engine.history({ channel: c, since: { epoch: first.epoch, offset: 0 }, limit: 10 });
      // A client at {epoch, 0} must be able to tell it missed offset 1.
      const told = page.top.epoch !== first.epoch || page.top.offset >= 1;
      assert.ok(told, `top ${JSON.stringify(page.top)} hides the expired publication`);
      const next = await engine.publish({ channel: c, data: 2, history: { size: 10, ttlMs: 60_000 } });
      if (next.epoch === first.epoch)
        assert.equal(next.offset, 2, 'offsets are never reused within an epoch');
    });

    test('idempotency: the same key returns the first result, stored and delivered once', async () => {
      const { engine, events } = await started();
      const c = channel();
      await engine.subscribe(c);
      const request = {
        channel: c,
        data: 'once',
        history: HISTORY,
        idempotencyKey: 'k1',
        idempotencyTtlMs: 60_000,
      };
      const first = await engine.publish(request);
      const second = await engine.publish({ ...request, data: 'retry' });
      assert.equal(first.duplicate, false);
      assert.equal(second.duplicate, true);
      assert.deepEqual(
        { epoch: second.epoch, offset: second.offset },
        { epoch: first.epoch, offset: first.offset },
      );
      const other = await engine.publish({ ...request, idempotencyKey: 'k2' });
      assert.equal(other.offset, first.offset + 1);
      const page = await engine.history({ channel: c, limit: 10 });
      assert.deepEqual(
        page.publications.map((p) => p.data),
        ['once', 'once'],
      );
      await events.until(() => events.pubs(c).length === 2, 'two deliveries');
      assert.deepEqual(
        events.pubs(c).map((p) => p.offset),
        [1, 2],
      );
      const elsewhere = await engine.publish({ ...request, channel: channel() });
      assert.equal(elsewhere.duplicate, false, 'keys are per channel');
    });

    test('idempotency results expire', async () => {
      const { engine, events } = await started();
      const c = channel();
      const request = { channel: c, data: 1, history: HISTORY, idempotencyKey: 'k', idempotencyTtlMs: 150 };
      const first = await engine.publish(request);
      let later = first;
      await events.until(
        async () => (later = await engine.publish(request)).duplicate === false,
        'the key to expire',
        expiryDeadline,
      );
      assert.equal(later.offset, first.offset + 1);
    });

    test('fan-out: only subscribed channels reach the handler, in offset order, until unsubscribe', async () => {
      const { engine, events } = await started();
      const on = channel('on');
      const off = channel('off');
      await engine.subscribe(on);
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => engine.publish({ channel: on, data: i, history: HISTORY })),
      );
      await engine.publish({ channel: off, data: 'x', history: HISTORY });
      await events.until(() => events.pubs(on).length === 30, '30 deliveries');
      assert.deepEqual(
        events.pubs(on).map((p) => p.offset),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      await engine.unsubscribe(on);
      const marker = channel('marker');
      await engine.subscribe(marker);
      await engine.publish({ channel: on, data: 'late', history: HISTORY });
      await engine.publish({ channel: marker, data: 'm', history: HISTORY });
      await events.until(() => events.pubs(marker).length === 1, 'the marker');
      assert.equal(events.pubs(off).length, 0);
      assert.equal(events.pubs(on).length, 30, 'nothing after unsubscribe');
    });

    test('a publication after subscribe() resolves is delivered (the feed is live)', async () => {
      const { engine, events } = await started();
      const c = channel();
      await engine.subscribe(c);
      const sent = await engine.publish({ channel: c, data: 'live', history: HISTORY });
      await events.until(() => events.pubs(c).length === 1, 'the live publication');
      assert.equal(events.pubs(c)[0]!.offset, sent.offset);
      assert.equal(events.pubs(c)[0]!.data, 'live');
    });

    test('presence: members, unique users vs clients, refresh does not duplicate, remove', async () => {
      const { engine } = await started();
      const c = channel();
      await engine.addPresence(c, info('alice', 'tab1', { name: 'Alice' }), 60_000);
      await engine.addPresence(c, info('alice', 'tab2', { name: 'Alice' }), 60_000);
      await engine.addPresence(c, info('bob', 'b1'), 60_000);
      await engine.addPresence(c, info('bob', 'b1'), 60_000);
      const members = await engine.presence(c);
      assert.deepEqual(members.map((m) => m.client).sort(), ['b1', 'tab1', 'tab2']);
      assert.deepEqual(
        members.find((m) => m.client === 'tab1'),
        info('alice', 'tab1', { name: 'Alice' }),
      );
      assert.deepEqual(await engine.presenceStats(c), { clients: 3, users: 2 });
      await engine.removePresence(c, 'tab1');
      assert.deepEqual(await engine.presenceStats(c), { clients: 2, users: 2 });
      await engine.removePresence(c, 'b1');
      assert.deepEqual(await engine.presenceStats(c), { clients: 1, users: 1 });
      assert.deepEqual(await engine.presence(channel()), []);
    });

    test('presence entries not refreshed expire, with a leave to subscribed nodes', async () => {
      const { engine, events } = await started();
      const c = channel();
      await engine.subscribe(c);
      await engine.addPresence(c, info('gone', 'g1'), 200);
      await engine.addPresence(c, info('stays', 's1'), 60_000);
      await events.until(
        () => events.events.some((e) => e.kind === 'leave' && e.channel === c && e.info.client === 'g1'),
        'the leave of the expired member',
        expiryDeadline,
      );
      const members = await engine.presence(c);
      assert.deepEqual(
        members.map((m) => m.client),
        ['s1'],
      );
    });

    test('join and leave reach subscribed nodes only', async () => {
      const { engine, events } = await started();
      const on = channel('on');
      const off = channel('off');
      await engine.subscribe(on);
      await engine.publishJoin(off, info('x', 'x1'));
      await engine.publishJoin(on, info('alice', 'a1', { name: 'A' }));
      await engine.publishLeave(on, info('alice', 'a1', { name: 'A' }));
      await events.until(() => events.events.some((e) => e.kind === 'leave'), 'the leave');
      const seen = events.events.filter((e) => e.kind === 'join' || e.kind === 'leave');
      assert.deepEqual(seen, [
        { kind: 'join', channel: on, info: info('alice', 'a1', { name: 'A' }) },
        { kind: 'leave', channel: on, info: info('alice', 'a1', { name: 'A' }) },
      ]);
    });

    if (options.interruptFeed) {
      const interrupt = options.interruptFeed;
      test('after the feed breaks: every publication is delivered, or resync names the channel', async () => {
        const { engine, events } = await started();
        const c = channel();
        await engine.subscribe(c);
        await engine.publish({ channel: c, data: 0, history: HISTORY });
        await events.until(() => events.pubs(c).length === 1, 'the first delivery');
        await interrupt(engine);
        for (let i = 1; i <= 5; i++) {
          // Publishes may fail while the engine reconnects; retry with the same key (idempotent).
          await events.until(
            async () => {
              try {
                await engine.publish({ channel: c, data: i, history: HISTORY, idempotencyKey: `r${i}` });
                return true;
              } catch {
                return false;
              }
            },
            `publish ${i} after the interruption`,
            expiryDeadline,
          );
        }
        await events.until(
          () =>
            events.pubs(c).some((p) => p.offset === 6) ||
            events.events.some((e) => e.kind === 'resync' && e.channels.includes(c)),
          'delivery of offset 6 or a resync of the channel',
          expiryDeadline,
        );
        const offsets = events.pubs(c).map((p) => p.offset);
        for (let i = 1; i < offsets.length; i++) {
          assert.ok(offsets[i]! > offsets[i - 1]!, `delivered out of order: ${offsets}`);
        }
        const resynced = events.events.some((e) => e.kind === 'resync' && e.channels.includes(c));
        if (!resynced)
          assert.deepEqual(offsets, [1, 2, 3, 4, 5, 6], 'without a resync nothing may be missing');
      });
    }
  });
}
