import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { haveRedis } from '../redis-server.js';
import { ChatUser, checkLog, checkSameOrder } from './chat-client.js';
import { startCluster } from './cluster.js';

/**
 * Chaos under steady traffic: a serve node is SIGKILLed (and restarted), then
 * Redis restarts with its memory gone. Users reconnect through the proxy with
 * `since`. The checker then verifies every user's log: nothing lost, nothing
 * twice, order kept and the same for everyone — or the user was told that
 * stretch could not be recovered.
 */

const USERS = 6;
/** One message per user per 450 ms: under the chat's flood limit (30 per 10 s per connection). */
const PACE_MS = 450;

test('chaos: a node SIGKILLed and Redis restarted under traffic; every log checks out', async (t) => {
  if (!haveRedis(t)) return;
  const cluster = await startCluster(t);
  const users = Array.from({ length: USERS }, (_, i) => new ChatUser(t, cluster.chatUrl, 'lobby', `u${i}`));
  for (const u of users) await u.join();

  let stopped = false;
  let reconnects = 0;
  let told = 0;
  const rejoining = new Set<Promise<unknown>>();
  // A user whose connection dies reconnects from its last position (what the page does).
  const supervise = (u: ChatUser) => {
    const ws = u.ws!;
    ws.on('close', () => {
      if (stopped || u.ws !== ws) return;
      const p = u.join(u.position()).then((welcome) => {
        reconnects++;
        if (welcome.recovered === false) told++;
        supervise(u);
      });
      rejoining.add(p);
      void p.finally(() => rejoining.delete(p)).catch(() => {});
    });
  };
  for (const u of users) supervise(u);

  let counter = 0;
  const traffic = setInterval(() => {
    for (const u of users) {
      if (u.ws?.readyState === WebSocket.OPEN) u.send(`${u.nick}:${++counter}`);
    }
  }, PACE_MS);
  t.after(() => clearInterval(traffic));

  /** Everyone has a message sent after this call: the time it took, in ms. */
  const catchUp = async (label: string) => {
    const started = Date.now();
    while (rejoining.size > 0) await Promise.all([...rejoining]);
    const sender = users.find((u) => u.ws?.readyState === WebSocket.OPEN)!;
    const text = `marker ${label}`;
    for (;;) {
      // A marker sent while Redis is still coming back is answered `unavailable`: send it again.
      sender.send(text);
      const seen = await Promise.race([
        Promise.all(
          users.map((u) =>
            u.until(() => u.messages().some((m) => m.text === text), text, { failOnClose: false }),
          ),
        ).then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 1000)), // resend cadence, not a wait
      ]);
      if (seen) break;
      while (rejoining.size > 0) await Promise.all([...rejoining]);
    }
    return Date.now() - started;
  };

  await Promise.all(users.map((u) => u.until(() => u.messages().length >= 12, 'steady traffic')));
  await cluster.nodes[0]!.kill();
  const afterKill = await catchUp('after node kill');
  await cluster.nodes[0]!.restart();

  await Promise.all(users.map((u) => u.until(() => u.messages().length >= 40, 'traffic on')));
  await cluster.redis.stop();
  await cluster.redis.restart();
  const afterRedis = await catchUp('after redis restart');

  clearInterval(traffic);
  stopped = true;
  await catchUp('final');

  let epochChanges = 0;
  let lastSeen: string | undefined;
  for (const u of users) {
    const log = checkLog(u);
    epochChanges += log.epochChanges;
    const last = JSON.stringify(log.last);
    lastSeen ??= last;
    assert.equal(last, lastSeen, `${u.nick} caught up with everyone`);
  }
  const positions = checkSameOrder(users);
  assert.ok(reconnects >= 1, 'the kill cut some users off');
  t.diagnostic(
    `users ${USERS}, positions ${positions}, reconnects ${reconnects}, told-not-recovered ${told}, ` +
      `epoch changes seen live ${epochChanges}, catch-up after node kill ${afterKill} ms, after Redis restart ${afterRedis} ms`,
  );
});
