import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import { ReverseProxy } from '../../src/proxy/index.js';
import { haveRedis, startRedis } from '../redis-server.js';
import { RawClient } from './client.js';

/**
 * Several processes behind socketeer's proxy, one Redis: a node is SIGKILLed
 * mid-stream; its clients reconnect through the proxy to the other node and
 * recover exactly (every publication once, in order), and the dead node's
 * presence entries leave within its lease.
 */

const NODE = new URL('./redis-hub-node.js', import.meta.url).pathname;

async function startNode(t: TestContext, redisUrl: string) {
  const child = spawn(process.execPath, [NODE, redisUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = /listening (\d+)/.exec(line.toString())?.[1];
  assert.ok(port, `node printed its port: ${line}`);
  return { child, url: `ws://127.0.0.1:${port}` };
}

/** Connect through the proxy; a handshake routed to a dead backend fails, so try again. */
async function connect(url: string, attempts = 100): Promise<RawClient> {
  for (let i = 1; ; i++) {
    try {
      return await RawClient.connected(url);
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

interface Member {
  /** Every connection this logical client used, in order. */
  connections: RawClient[];
  clientIds: string[];
}

test('a node SIGKILLed behind the proxy: its clients recover exactly on the other node; its presence leaves', async (t) => {
  if (!haveRedis(t)) return;
  const redis = await startRedis(t);
  const nodes = [await startNode(t, redis.url), await startNode(t, redis.url)];
  const proxy = new ReverseProxy({
    port: 0,
    host: '127.0.0.1',
    routes: [{ backends: nodes.map((n) => n.url), balance: 'round-robin' }],
  });
  const { port } = await proxy.listen();
  t.after(() => proxy.close());
  const via = `ws://127.0.0.1:${port}/`;
  const channel = 'chat:room';

  const members: Member[] = [];
  for (let i = 0; i < 4; i++) {
    const c = await connect(via);
    const sub = await c.request<{ epoch: string }>('subscribe', { channel });
    assert.ok(sub.epoch);
    members.push({ connections: [c], clientIds: [] });
  }
  // Who is who: the presence list names each connection's client id.
  const presence = await members[0]!.connections[0]!.request<{ members: { client: string }[] }>('presence', {
    channel,
  });
  assert.equal(presence.members.length, 4);

  let publisher = await connect(via);
  const publish = async (n: number) => {
    for (;;) {
      const frame = await publisher
        .call('publish', { channel, data: n, key: `p${n}` })
        .catch(() => undefined);
      if (frame && !frame.error) return;
      if (frame?.error) assert.equal(frame.error.temporary, true, JSON.stringify(frame.error));
      else publisher = await connect(via); // its node died: reconnect, same key
    }
  };
  for (let n = 1; n <= 10; n++) await publish(n);
  const live = (m: Member) => m.connections[m.connections.length - 1]!;
  for (const m of members) await live(m).until(() => live(m).pubs(channel).length === 10, 'first ten');

  nodes[0]!.child.kill('SIGKILL');
  await once(nodes[0]!.child, 'exit');
  for (let n = 11; n <= 20; n++) await publish(n);

  // Clients of the dead node see their connection close; they reconnect and recover from their position.
  let reconnected = 0;
  for (const m of members) {
    const current = live(m);
    // until() rejects once the connection closes: that is the "closed" outcome.
    const outcome = await current
      .until(() => current.pubs(channel).length === 20 && 'done')
      .catch(() => 'closed');
    if (outcome === 'done') continue;
    const last = current.pubs(channel).at(-1)!;
    const next = await connect(via);
    const result = await next.request<{ recovered: boolean }>('subscribe', {
      channel,
      since: { epoch: last.epoch, offset: last.offset },
    });
    assert.equal(result.recovered, true);
    m.connections.push(next);
    reconnected++;
  }
  assert.ok(reconnected >= 1, 'some clients were on the killed node');
  for (const m of members) {
    const all = () => m.connections.flatMap((c) => c.pubs(channel).map((p) => p.data));
    await live(m).until(() => all().length >= 20, 'all twenty');
    assert.deepEqual(
      all(),
      Array.from({ length: 20 }, (_, i) => i + 1),
      'each publication once, in order',
    );
  }

  // The dead node stopped refreshing its clients' presence: they leave within the lease (3 s here; <= 15 s).
  const survivor = members.find((m) => m.connections.length === 1)!;
  const watcher = live(survivor);
  await watcher.until(() => watcher.pushes('leave').length >= reconnected, 'leaves of the dead node');
  const stats = await watcher.request<{ clients: number }>('presence_stats', { channel });
  assert.equal(stats.clients, 4, 'the four members are present once each, on the living node');
});
