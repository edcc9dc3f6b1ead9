// The node-kill scenario of bench:scale, run on the load generator's core.
// Subscribers are spread over two nodes; publishers on node A publish at a
// steady rate; after killAfterMs the generator SIGKILLs node B (its pid is in
// the config). B's clients reconnect at once to node A: socketeer clients
// resubscribe with `since` {epoch, offset} (lib/fanout-protocols.mjs) and must
// receive every publication exactly once and in order; Socket.IO clients rejoin
// their room (Socket.IO cannot recover across nodes): what they miss is counted.
// Prints one JSON line.
import { performance } from 'node:perf_hooks';
import { socketeer, socketio } from './lib/fanout-protocols.mjs';

const config = JSON.parse(process.argv[2]);
const { kind, ports, channels, subsPerChannel, ratePerSecond } = config;
const protocol = { socketeer, socketio }[kind];
const channelName = (c) => `${config.prefix ?? ''}c${c}`;
const published = new Array(channels).fill(0);
const subscribers = [];
const errors = { gaps: 0, duplicates: 0 };
let killedAt = null;
const failures = [];

function delivered(sub, seq) {
  if (seq <= sub.last) errors.duplicates++;
  else if (seq > sub.last + 1) {
    errors.gaps++;
    sub.missed += seq - sub.last - 1;
  }
  if (seq <= sub.last) return;
  sub.last = seq;
  sub.count++;
}

async function open(sub, port, since) {
  sub.client = await protocol.subscriber(port, channelName(sub.channel), (seq) => delivered(sub, seq), {
    since,
    onOpen: () => {
      if (since !== undefined || sub.moved) sub.openedAt = performance.now();
    },
    onSubscribed: (result) => {
      sub.epoch = result.epoch;
      if (since) sub.recovered = result.recovered;
    },
    onClose: () => {
      if (killedAt === null || sub.moved) return;
      sub.closedAt = performance.now();
      reconnect(sub);
    },
  });
}

async function reconnect(sub) {
  sub.moved = true;
  const since = kind === 'socketeer' ? { epoch: sub.epoch, offset: sub.last } : undefined;
  try {
    await open(sub, ports[0], since);
    sub.rejoinedAt = performance.now();
  } catch (error) {
    failures.push(`reconnect: ${error.message}`);
  }
}

for (let start = 0; start < channels * subsPerChannel; start += 200) {
  const jobs = [];
  for (let i = start; i < Math.min(channels * subsPerChannel, start + 200); i++) {
    // The k-th member of every room on node k % 2: each room spans both nodes, as behind a balancer.
    const sub = {
      channel: i % channels,
      node: Math.floor(i / channels) % 2,
      last: 0,
      count: 0,
      missed: 0,
      moved: false,
    };
    subscribers.push(sub);
    jobs.push(open(sub, ports[sub.node]));
  }
  await Promise.all(jobs);
}

const publisher = await protocol.publisher(ports[0], (_id, failed) => {
  if (failed) failures.push(failed.slice(0, 200));
});
const start = performance.now();
const total = (config.killAfterMs + config.afterKillMs) / 1000;
let sent = 0;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const now = performance.now();
    if (killedAt === null && now - start >= config.killAfterMs) {
      killedAt = now;
      process.kill(config.serverPids[1], 'SIGKILL');
    }
    const due = Math.min(
      Math.floor(((now - start) / 1000) * ratePerSecond * channels),
      total * ratePerSecond * channels,
    );
    for (; sent < due; sent++) {
      const c = sent % channels;
      publisher.publish(channelName(c), ++published[c], Math.round(now * 1000) / 1000);
    }
    if (sent >= total * ratePerSecond * channels) {
      clearInterval(timer);
      resolve();
    }
  }, 5);
});

// Drain: wait until every subscriber holds everything (or, for Socket.IO, all it will get).
const deadline = performance.now() + (config.drainMs ?? 60_000);
const settled = () => subscribers.every((s) => s.last === published[s.channel]);
while (!settled() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));

const moved = subscribers.filter((s) => s.node === 1);
const rejoined = moved.filter((s) => s.rejoinedAt !== undefined);
const catchUp = rejoined.length ? Math.max(...rejoined.map((s) => s.rejoinedAt - killedAt)) / 1000 : null;
// Where the catch-up time goes: noticing the kill, the new WebSocket, the resubscribe (with recovery).
const phase = (pick) => {
  const values = rejoined
    .map(pick)
    .filter((v) => Number.isFinite(v))
    .sort((a, b) => a - b);
  if (!values.length) return null;
  const at = (q) => Math.round(values[Math.min(values.length - 1, Math.floor(q * values.length))]) / 1000;
  return { p50: at(0.5), max: at(1) };
};
const phases = {
  closeSeen: phase((s) => s.closedAt - killedAt),
  reconnected: phase((s) => s.openedAt - killedAt),
  subscribed: phase((s) => s.rejoinedAt - killedAt),
  resubscribe: phase((s) => s.rejoinedAt - s.openedAt),
};
let lost = 0;
for (const sub of subscribers) lost += published[sub.channel] - sub.count;
const lostClients = subscribers.filter((s) => s.count < published[s.channel]).length;
const notRecovered = moved.filter((s) => s.recovered === false).length;
const exact = lost === 0 && errors.duplicates === 0 && errors.gaps === 0 && failures.length === 0;
process.stdout.write(
  `${JSON.stringify({
    ok:
      kind === 'socketeer'
        ? exact && notRecovered === 0 && rejoined.length === moved.length
        : rejoined.length === moved.length,
    exact,
    clients: subscribers.length,
    movedClients: moved.length,
    rejoinedClients: rejoined.length,
    catchUpSeconds: catchUp,
    phases,
    published: published.reduce((a, b) => a + b, 0),
    lostDeliveries: lost,
    lostClients,
    notRecovered,
    ...errors,
    failures: failures.length,
    firstFailure: failures[0],
  })}\n`,
);
process.exit(0);
