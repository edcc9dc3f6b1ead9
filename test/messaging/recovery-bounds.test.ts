import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { HistoryPage, HistoryRequest } from '../../src/messaging/engine.js';
import { Hub, type HubOptions, MemoryEngine } from '../../src/messaging/index.js';
import { FIRST_PAGE_LIMIT, recoveryPageBytes } from '../../src/messaging/recovery-gate.js';
import { RawClient } from './client.js';

/**
 * What recovery may hold in memory (src/messaging/recovery-gate.ts): pages
 * sized in bytes, one page at a time per connection, a bounded number of
 * pages at once per hub, so a reconnect storm cannot pull every missed page
 * into memory together. Every wait is on an event (a history read arriving).
 */

/** A MemoryEngine whose recovery reads (limit > 0) are recorded and, when gated, wait for the test. */
class WatchedEngine extends MemoryEngine {
  readonly reads: Array<{ limit: number; publications: HistoryPage['publications'] }> = [];
  inFlight = 0;
  maxInFlight = 0;
  gated = false;
  private readonly blocked: Array<() => void> = [];
  private arrivals: Array<() => void> = [];

  override async history(request: HistoryRequest): Promise<HistoryPage> {
    if (request.limit === 0) return super.history(request);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gated) {
        await new Promise<void>((resolve) => {
          this.blocked.push(resolve);
          for (const arrived of this.arrivals.splice(0)) arrived();
        });
      }
      const page = await super.history(request);
      this.reads.push({ limit: request.limit, publications: page.publications });
      return page;
    } finally {
      this.inFlight--;
    }
  }

  /** Resolves once at least `count` reads are waiting at the gate. */
  async waiting(count: number): Promise<void> {
    while (this.blocked.length < count) await new Promise<void>((resolve) => this.arrivals.push(resolve));
  }

  releaseOne(): void {
    this.blocked.shift()?.();
  }
}

async function hubWith(engine: WatchedEngine, options: Partial<HubOptions> = {}) {
  const hub = new Hub({
    port: 0,
    host: '127.0.0.1',
    engine,
    namespaces: { '': { historySize: 5000, clientPublish: true } },
    ...options,
  });
  await hub.listening();
  return { hub, url: `ws://127.0.0.1:${(hub.address() as AddressInfo).port}/` };
}

const encodedBytes = (channel: string, pub: unknown) =>
  Buffer.byteLength(JSON.stringify({ push: 'pub', channel, pub }));

describe('recovery bounds', () => {
  test('pages are sized in bytes: 300 KB recover through a 256 KiB outbound bound, in order, without a 4001', async () => {
    const engine = new WatchedEngine();
    const maxOutboundBytes = 256 * 1024;
    const { hub, url } = await hubWith(engine, { maxOutboundBytes });
    const pageBytes = recoveryPageBytes(maxOutboundBytes);
    try {
      let epoch = '';
      for (let i = 1; i <= 300; i++) epoch = (await hub.publish('big', { i, pad: 'x'.repeat(1000) })).epoch;
      const client = await RawClient.connected(url, { subs: { big: { since: { epoch, offset: 0 } } } });
      const reply = client.frames.find((f) => f.id === 1)!.result as {
        subs: Record<string, { recovered: boolean }>;
      };
      assert.equal(reply.subs.big!.recovered, true);
      assert.deepEqual(
        client.pubs('big').map((p) => p.offset),
        Array.from({ length: 300 }, (_, i) => i + 1),
      );
      assert.equal(client.ws.readyState, 1, 'not disconnected as a slow consumer');
      const [first, ...rest] = engine.reads;
      assert.equal(first!.limit, FIRST_PAGE_LIMIT, 'the first page is small: sizes are not known yet');
      assert.ok(rest.length > 0);
      for (const read of rest) {
        const bytes = read.publications.reduce((sum, pub) => sum + encodedBytes('big', pub), 0);
        assert.ok(bytes <= pageBytes, `a page of ${bytes} bytes exceeds ${pageBytes}`);
      }
      client.close();
    } finally {
      await hub.close();
    }
  });

  test('small publications still come in large pages (the limit adapts up to maxHistoryLimit)', async () => {
    const engine = new WatchedEngine();
    const { hub, url } = await hubWith(engine);
    try {
      let epoch = '';
      for (let i = 1; i <= 2000; i++) epoch = (await hub.publish('small', i)).epoch;
      const client = await RawClient.connected(url, { subs: { small: { since: { epoch, offset: 0 } } } });
      assert.equal(client.pubs('small').length, 2000);
      assert.deepEqual(
        engine.reads.map((r) => r.limit),
        [FIRST_PAGE_LIMIT, 1000, 1000],
      );
      client.close();
    } finally {
      await hub.close();
    }
  });

  test('one connection recovering many channels reads one page at a time', async () => {
    const engine = new WatchedEngine();
    const { hub, url } = await hubWith(engine);
    try {
      const subs: Record<string, { since: { epoch: string; offset: number } }> = {};
      for (let c = 0; c < 6; c++) {
        let epoch = '';
        for (let i = 1; i <= 3; i++) epoch = (await hub.publish(`ch${c}`, i)).epoch;
        subs[`ch${c}`] = { since: { epoch, offset: 0 } };
      }
      const client = await RawClient.connected(url, { subs });
      for (let c = 0; c < 6; c++)
        assert.deepEqual(
          client.pubs(`ch${c}`).map((p) => p.data),
          [1, 2, 3],
        );
      assert.equal(engine.reads.length, 6);
      assert.equal(engine.maxInFlight, 1, 'the six recoveries of one connection took turns');
      client.close();
    } finally {
      await hub.close();
    }
  });

  test('a reconnect storm: at most maxConcurrentRecoveries pages in flight hub-wide; everyone recovers', async () => {
    const engine = new WatchedEngine();
    const { hub, url } = await hubWith(engine, { maxConcurrentRecoveries: 2 });
    try {
      let epoch = '';
      for (let i = 1; i <= 5; i++) epoch = (await hub.publish('storm', i)).epoch;
      engine.gated = true;
      const since = { epoch, offset: 0 };
      const clients = Array.from({ length: 6 }, () =>
        RawClient.connected(url, { subs: { storm: { since } } }),
      );
      // Two reads reach the engine (the slots are full); the others queue for a slot.
      await engine.waiting(2);
      for (let released = 0; released < 6; released++) {
        await engine.waiting(1);
        assert.ok(engine.inFlight <= 2, `${engine.inFlight} pages in flight`);
        engine.releaseOne();
      }
      for (const client of await Promise.all(clients)) {
        assert.deepEqual(
          client.pubs('storm').map((p) => p.data),
          [1, 2, 3, 4, 5],
        );
        client.close();
      }
      assert.equal(engine.maxInFlight, 2);
    } finally {
      await hub.close();
    }
  });

  test('maxConcurrentRecoveries is checked', () => {
    assert.throws(() => new Hub({ noServer: true, maxConcurrentRecoveries: 0 }), /maxConcurrentRecoveries/);
  });
});
