import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { MessagingClient, type PublishResult, type StreamPosition } from '../../src/messaging/node-client.js';
import { startHub, type TestHub } from './client-fixture.js';

/**
 * Issue 14, item 9: clients randomly lose their connections — the server
 * terminates them, they close and reconnect themselves, the server tells them
 * to reconnect (4000), the network drops (both TCP ends reset) or stalls (a
 * half-open connection only heartbeats reveal) — while the server and a
 * client publish. At the end every subscriber holds exactly its channels'
 * publications, in order, without duplicates, except where it was told
 * `recovered: false`; and every acknowledged client publish is stored once.
 * Real hub, memory engine, loopback TCP.
 */

/** A TCP relay between one client and the hub, to drop or stall "the network". */
class Relay {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  constructor(target: number) {
    this.#server = createServer((inbound) => {
      const outbound = tcpConnect(target, '127.0.0.1');
      const pair: [Socket, Socket] = [inbound, outbound];
      this.#pairs.add(pair);
      for (const s of pair) s.on('error', () => {}).on('close', () => this.#drop(pair));
      inbound.pipe(outbound).pipe(inbound);
    });
  }
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }
  /** Both ends reset: the client sees 1006 at once, the hub a dead socket. */
  drop(): void {
    for (const pair of this.#pairs) this.#drop(pair);
  }
  /** Nothing gets through any more, nobody is told: only the client's heartbeat notices. */
  stall(): void {
    for (const [inbound, outbound] of this.#pairs) {
      inbound.unpipe(outbound);
      outbound.unpipe(inbound);
    }
  }
  close(): Promise<void> {
    this.drop();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
  #drop(pair: [Socket, Socket]): void {
    this.#pairs.delete(pair);
    for (const s of pair) s.destroy();
  }
}

const CHANNELS = ['chat:p0', 'chat:p1', 'short:p2'] as const; // short: history of 3
const BIG = ['chat:p0', 'chat:p1'] as const;

type Action =
  | { kind: 'serverPublish'; channel: number }
  | { kind: 'clientPublish'; channel: number }
  | { kind: 'terminate' | 'clientClose' | 'advice' | 'drop' | 'stall'; client: number }
  | { kind: 'settle' };

const SUBSCRIBERS = 3;
const PUBLISHER = SUBSCRIBERS; // index of the publishing client

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('serverPublish' as const), channel: fc.nat(2) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('clientPublish' as const), channel: fc.nat(1) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'terminate' as const,
        'clientClose' as const,
        'advice' as const,
        'drop' as const,
        'stall' as const,
      ),
      client: fc.nat(SUBSCRIBERS), // includes the publisher
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

/** What the runs exercised (printed as a diagnostic: a property that never reconnects proves nothing). */
const seen = { runs: 0, reconnects: 0, recovered: 0, notRecovered: 0, delivered: 0, clientPublishes: 0 };

type LogEntry =
  | { kind: 'sub'; recovered: boolean | undefined; offset: number; since: StreamPosition | undefined }
  | { kind: 'pub'; offset: number; data: unknown };

async function scenario(subscriptions: number[][], actions: Action[]): Promise<void> {
  const t: TestHub = await startHub();
  const hubPort = (t.hub.address() as AddressInfo).port;
  const relays: Relay[] = [];
  const clients: MessagingClient[] = [];
  const logs: Array<Map<string, LogEntry[]>> = [];
  try {
    for (let i = 0; i <= SUBSCRIBERS; i++) {
      const relay = new Relay(hubPort);
      relays.push(relay);
      const port = await relay.listen();
      const viaRelay = new MessagingClient(`ws://127.0.0.1:${port}/`, {
        token: `user${i}`,
        minReconnectDelay: 1,
        maxReconnectDelay: 20,
        // A network stalled during the handshake or before the connect reply is given up on after this.
        connectTimeout: 500,
        // Fast heartbeats, so that a stalled network is noticed within the test.
        socket: { heartbeatInterval: 50, heartbeatTimeout: 150 },
      });
      const log = new Map<string, LogEntry[]>();
      for (const c of i < SUBSCRIBERS ? subscriptions[i]! : []) {
        const channel = CHANNELS[c]!;
        const entries: LogEntry[] = [];
        log.set(channel, entries);
        const sub = viaRelay.subscribe(channel);
        sub.on('subscribed', (e) =>
          entries.push({ kind: 'sub', recovered: e.recovered, offset: e.offset, since: e.since }),
        );
        sub.on('publication', (p) => entries.push({ kind: 'pub', offset: p.offset, data: p.data }));
      }
      viaRelay.on('connecting', ({ reason }) => {
        if (reason !== 'connect() called') seen.reconnects++;
      });
      viaRelay.connect();
      clients.push(viaRelay);
      logs.push(log);
    }
    await Promise.all(clients.map((c) => c.ready()));
    await Promise.all(clients.flatMap((c) => CHANNELS.map((ch) => c.getSubscription(ch)?.ready())));

    const serverAcks = new Map<string, Map<number, unknown>>(CHANNELS.map((c) => [c, new Map()]));
    const pending: Array<Promise<unknown>> = [];
    /** mayFail: the publisher was closed (close() fails what is pending) after this publish. */
    const clientPublishes: Array<{
      channel: string;
      data: string;
      ack: Promise<PublishResult>;
      mayFail: boolean;
    }> = [];
    let seq = 0;
    for (const action of actions) {
      const n = ++seq;
      switch (action.kind) {
        case 'serverPublish': {
          const channel = CHANNELS[action.channel]!;
          const data = `s${n}`;
          pending.push(
            t.hub.publish(channel, data).then((ack) => serverAcks.get(channel)!.set(ack.offset, data)),
          );
          break;
        }
        case 'clientPublish': {
          const channel = BIG[action.channel]!;
          const data = `c${n}`;
          const ack = clients[PUBLISHER]!.publish(channel, data, { timeout: 30_000 });
          clientPublishes.push({ channel, data, ack, mayFail: false });
          pending.push(ack.catch(() => {}));
          break;
        }
        case 'terminate':
        case 'advice': {
          const id = clients[action.client]!.session.client;
          const session = t.hub.sessions.get(id);
          if (action.kind === 'terminate') session?.ws.terminate();
          else session?.disconnect(4000, 'draining');
          break;
        }
        case 'clientClose':
          if (action.client === PUBLISHER) for (const p of clientPublishes) p.mayFail = true;
          clients[action.client]!.close();
          clients[action.client]!.connect();
          break;
        case 'drop':
          relays[action.client]!.drop();
          break;
        case 'stall':
          relays[action.client]!.stall();
          break;
        case 'settle':
          await Promise.all(pending);
          break;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }

    // Quiesce: every publish answered, every client connected and subscribed again.
    await Promise.all(pending);
    await Promise.all(clients.map((c) => c.ready()));
    await Promise.all(clients.flatMap((c) => CHANNELS.map((ch) => c.getSubscription(ch)?.ready())));
    // A last publication per channel, that every subscriber must reach.
    const markers = new Map<string, number>();
    for (const channel of CHANNELS) {
      const ack = await t.hub.publish(channel, 'end');
      serverAcks.get(channel)!.set(ack.offset, 'end');
      markers.set(channel, ack.offset);
    }
    await Promise.all(
      clients.flatMap((c) =>
        CHANNELS.map((ch) => {
          const sub = c.getSubscription(ch);
          if (!sub || (sub.position?.offset ?? 0) >= markers.get(ch)!) return undefined;
          // Reached by delivery, or by a `recovered: false` that restarts at the top.
          return new Promise<void>((resolve) => {
            const check = () => {
              if ((sub.position?.offset ?? 0) < markers.get(ch)!) return;
              for (const off of offs) off();
              resolve();
            };
            const offs = [sub.on('publication', check), sub.on('subscribed', check)];
          });
        }),
      ),
    );

    // The truth: the hub's whole history for the big channels, the server's acks for the short one.
    const truth = new Map<string, Map<number, unknown>>();
    for (const channel of BIG) {
      const { publications } = await t.hub.history(channel, { limit: 1000 });
      assert.equal(publications.length, markers.get(channel), `${channel}: history holds every publication`);
      truth.set(channel, new Map(publications.map((p) => [p.offset, p.data])));
      const datas = publications.map((p) => p.data);
      assert.equal(new Set(datas).size, datas.length, `${channel}: a publication was stored twice`);
    }
    truth.set('short:p2', serverAcks.get('short:p2')!);
    // Lost connections do not lose publishes: each is acknowledged (sent again after reconnecting
    // if need be), unless the application itself closed the client meanwhile.
    for (const { channel, data, ack, mayFail } of clientPublishes) {
      const result = mayFail ? await ack.catch(() => undefined) : await ack;
      if (result)
        assert.equal(truth.get(channel)!.get(result.offset), data, `acked ${data} stored at its offset`);
    }

    seen.runs++;
    seen.clientPublishes += clientPublishes.length;
    for (const log of logs) {
      for (const entries of log.values()) {
        for (const e of entries) {
          if (e.kind === 'pub') seen.delivered++;
          else if (e.recovered === true) seen.recovered++;
          else if (e.recovered === false) seen.notRecovered++;
        }
      }
    }
    logs.forEach((log, i) => {
      for (const [channel, entries] of log) {
        let position: number | undefined;
        for (const entry of entries) {
          const where = `client ${i} ${channel}`;
          if (entry.kind === 'sub') {
            if (entry.recovered === undefined) {
              assert.equal(position, undefined, `${where}: only the first subscribe is fresh`);
              position = entry.offset;
            } else if (entry.recovered) {
              assert.equal(entry.since?.offset, position, `${where}: recovered from where it stood`);
            } else {
              position = entry.offset; // told: recovered false
            }
          } else {
            assert.equal(entry.offset, position! + 1, `${where}: offset ${entry.offset} after ${position}`);
            assert.ok(truth.get(channel)!.has(entry.offset), `${where}: unknown publication ${entry.offset}`);
            assert.equal(
              entry.data,
              truth.get(channel)!.get(entry.offset),
              `${where}: data at ${entry.offset}`,
            );
            position = entry.offset;
          }
        }
        assert.equal(position, markers.get(channel), `client ${i} ${channel} reached the end`);
        if (channel !== 'short:p2') {
          assert.ok(
            entries.every((e) => e.kind === 'pub' || e.recovered !== false),
            `client ${i} ${channel}: told recovered false although history covers everything`,
          );
        }
      }
    });
  } finally {
    for (const c of clients) c.close();
    await Promise.all(relays.map((r) => r.close()));
    await t.close();
  }
}

test('property: subscribers hold exactly their channels’ publications across random disconnects', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 3 }), {
        minLength: SUBSCRIBERS,
        maxLength: SUBSCRIBERS,
      }),
      fc.array(actionArb, { minLength: 5, maxLength: 40 }),
      scenario,
    ),
    { numRuns: 25, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: false },
  );
  t.diagnostic(JSON.stringify(seen));
  assert.ok(seen.recovered > 0 && seen.delivered > 0, 'the runs reconnected and recovered');
});
