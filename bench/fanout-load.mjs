// The fan-out load generator (bench:fanout, bench:scale), run on its own core.
// Subscribers and publishers are raw WebSockets (lib/raw-client.mjs) speaking
// socketeer's protocol or Socket.IO's, so the generator is not the bottleneck.
// Publishers keep `window` publications in flight (a publication is done when
// every subscriber of its channel has it). Every delivery is checked: per
// subscriber, sequence numbers must go 1, 2, 3 ... (no gap, no duplicate, no
// reorder) and at the end each holds every publication of its channel.
// Prints one JSON line. Config: argv[2] as JSON (see fanout.mjs).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { socketeer, socketio } from './lib/fanout-protocols.mjs';
import { Histogram } from './lib/histogram.mjs';

const config = JSON.parse(process.argv[2]);
const { kind, ports, channels, subsPerChannel, publishers: publisherCount, window } = config;
const protocol = { socketeer, socketio }[kind];
const prefix = config.prefix ?? '';
const channelName = (c) => `${prefix}c${c}`;

const channelState = Array.from({ length: channels }, () => ({
  published: 0,
  remaining: new Map(),
  firstAt: new Map(),
}));
const subscribers = [];
const latency = new Histogram();
const ackLatency = new Histogram();
// Per publication: publish -> its first delivery anywhere (the publish path, Redis included),
// and first -> last delivery (one pass over every subscriber): where a publication's time goes.
const firstLatency = new Histogram();
const spreadLatency = new Histogram();
let measuring = false;
let measuredDeliveries = 0;
let inFlight = 0;
let publishing = false;
const failures = [];
const errors = { gaps: 0, duplicates: 0, reordered: 0 };

function delivered(sub, seq, sentAt) {
  const now = performance.now();
  if (seq !== sub.last + 1) {
    if (seq <= sub.last) errors.duplicates++;
    else if (seq > sub.last + 1) errors.gaps++;
    else errors.reordered++;
    if (seq <= sub.last) return;
  }
  sub.last = seq;
  sub.count++;
  if (measuring) {
    measuredDeliveries++;
    latency.record(now - sentAt);
  }
  const state = channelState[sub.channel];
  const left = state.remaining.get(seq) - 1;
  if (left === subsPerChannel - 1) {
    state.firstAt.set(seq, now);
    if (measuring) firstLatency.record(now - sentAt);
  }
  if (left > 0) state.remaining.set(seq, left);
  else if (left === 0) {
    state.remaining.delete(seq);
    if (measuring) spreadLatency.record(now - state.firstAt.get(seq));
    state.firstAt.delete(seq);
    inFlight--;
    if (publishing) pump();
  }
}

async function inBatches(count, batch, open) {
  const out = new Array(count);
  for (let start = 0; start < count; start += batch) {
    const jobs = [];
    for (let i = start; i < Math.min(count, start + batch); i++) jobs.push(open(i).then((v) => (out[i] = v)));
    await Promise.all(jobs);
  }
  return out;
}

const connectStart = performance.now();
await inBatches(channels * subsPerChannel, 200, async (i) => {
  const sub = { channel: i % channels, last: 0, count: 0, client: null };
  subscribers.push(sub);
  // With several nodes the k-th member of every channel goes to node k % nodes: each channel
  // spans the nodes, as clients behind a balancer would (i % nodes would put a whole channel on one).
  const node = Math.floor(i / channels) % ports.length;
  sub.client = await protocol.subscriber(ports[node], channelName(sub.channel), (seq, t) =>
    delivered(sub, seq, t),
  );
});
const connectSeconds = (performance.now() - connectStart) / 1000;

const sentAtById = [];
const publishers = await inBatches(publisherCount, 50, async (p) => {
  const sent = new Map();
  sentAtById[p] = sent;
  return protocol.publisher(ports[p % ports.length], (id, failed) => {
    const t = sent.get(id);
    sent.delete(id);
    if (failed) failures.push(failed.slice(0, 200));
    else if (measuring && t !== undefined) ackLatency.record(performance.now() - t);
  });
});

let nextChannel = 0;
function pump() {
  while (inFlight < window) {
    const c = nextChannel;
    nextChannel = (nextChannel + 1) % channels;
    const state = channelState[c];
    const seq = ++state.published;
    state.remaining.set(seq, subsPerChannel);
    inFlight++;
    // One publisher per channel keeps each channel's publish order = its sequence order.
    const p = c % publisherCount;
    const sentAt = Math.round(performance.now() * 1000) / 1000;
    const id = publishers[p].publish(channelName(c), seq, sentAt);
    sentAtById[p].set(id, sentAt);
  }
}

// What the server processes used so far: CPU seconds (utime, stime from /proc/<pid>/stat)
// and read/write syscalls (syscr, syscw from /proc/<pid>/io: read/readv, write/writev).
// CPU per delivery does not depend on how busy the rest of the machine is; syscalls
// per delivery say how many deliveries one write carries.
function usage(pids) {
  const total = { user: 0, system: 0, reads: 0, writes: 0 };
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total.user += Number(fields[11]) / 100; // USER_HZ
      total.system += Number(fields[12]) / 100;
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      total.reads += Number(/syscr: (\d+)/.exec(io)[1]);
      total.writes += Number(/syscw: (\d+)/.exec(io)[1]);
    } catch {}
  }
  return total;
}
const since = (now, before) => Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - before[k]]));
const serverPids = config.cpuPids ?? config.serverPids ?? [];
// Of which the shared Redis (bench:scale): what the store costs per delivery.
const redisPids = config.redisPid ? [config.redisPid] : [];

let cpuAtStart;
let cpuAtEnd;
const done = new Promise((resolve) => {
  publishing = true;
  pump();
  setTimeout(() => {
    measuring = true;
    cpuAtStart = {
      server: usage(serverPids),
      redis: usage(redisPids),
      load: usage(['self']),
      wall: performance.now(),
    };
    setTimeout(() => {
      cpuAtEnd = {
        server: since(usage(serverPids), cpuAtStart.server),
        redis: since(usage(redisPids), cpuAtStart.redis),
        load: since(usage(['self']), cpuAtStart.load),
        wall: (performance.now() - cpuAtStart.wall) / 1000,
      };
      measuring = false;
      publishing = false;
      resolve();
    }, config.durationMs);
  }, config.warmupMs);
});
await done;
// Drain: every publication still in flight must arrive everywhere.
const drainDeadline = performance.now() + (config.drainMs ?? 30_000);
while (inFlight > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));

const perDelivery = (seconds, scale) => (measuredDeliveries ? (seconds * scale) / measuredDeliveries : null);
let published = 0;
for (const s of channelState) published += s.published;
let lost = 0;
for (const sub of subscribers) lost += channelState[sub.channel].published - sub.count;
const ok = lost === 0 && errors.gaps + errors.duplicates + errors.reordered === 0 && failures.length === 0;
process.stdout.write(
  `${JSON.stringify({
    ok,
    deliveriesPerSecond: measuredDeliveries / (config.durationMs / 1000),
    latencyMs: latency.summary(),
    ackMs: ackLatency.summary(),
    firstDeliveryMs: firstLatency.summary(),
    fanoutSpreadMs: spreadLatency.summary(),
    published,
    deliveriesExpected: published * subsPerChannel,
    lost,
    ...errors,
    publishFailures: failures.length,
    firstFailure: failures[0],
    connectSeconds,
    // In the measured window: CPU µs per delivery (server: user + system, and system alone),
    // the share of a core each side got, and deliveries per server write / generator read
    // syscall (above 1: several deliveries left in one write).
    serverCpuUsPerDelivery: perDelivery(cpuAtEnd.server.user + cpuAtEnd.server.system, 1e6),
    serverSystemUsPerDelivery: perDelivery(cpuAtEnd.server.system, 1e6),
    redisCpuUsPerDelivery: redisPids.length
      ? perDelivery(cpuAtEnd.redis.user + cpuAtEnd.redis.system, 1e6)
      : null,
    loadCpuUsPerDelivery: perDelivery(cpuAtEnd.load.user + cpuAtEnd.load.system, 1e6),
    loadSystemUsPerDelivery: perDelivery(cpuAtEnd.load.system, 1e6),
    serverCoreShare: (cpuAtEnd.server.user + cpuAtEnd.server.system) / cpuAtEnd.wall,
    loadCoreShare: (cpuAtEnd.load.user + cpuAtEnd.load.system) / cpuAtEnd.wall,
    deliveriesPerServerWrite: cpuAtEnd.server.writes ? measuredDeliveries / cpuAtEnd.server.writes : null,
    deliveriesPerServerRead: cpuAtEnd.server.reads ? measuredDeliveries / cpuAtEnd.server.reads : null,
    deliveriesPerLoadRead: cpuAtEnd.load.reads ? measuredDeliveries / cpuAtEnd.load.reads : null,
  })}\n`,
);
for (const sub of subscribers) sub.client.close();
for (const p of publishers) p.client.close();
process.exit(0);
