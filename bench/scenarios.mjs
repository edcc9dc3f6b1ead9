// The scenarios of the benchmark issue. `servers` run in this order; `raw` is bare
// Node `net` echo (no framing): the ceiling the load generator can drive.
const ALL = ['raw', 'socketeer', 'ws', 'uws', 'bun'];
const WS_SERVERS = ['socketeer', 'ws', 'uws', 'bun'];
const IDLE_CONNECTIONS = Number(process.env.BENCH_IDLE ?? 10_000);

export const SCENARIOS = [
  {
    id: 'small',
    title: '32 B text, 64 connections x 16 in flight',
    metric: 'messagesPerSecond',
    unit: 'msg/s',
    servers: ALL,
    load: { mode: 'echo', connections: 64, inFlight: 16, size: 32, binary: false },
    target: { ratio: 5, text: '>= 5x ws' },
  },
  {
    id: 'medium',
    title: '64 KiB binary, 8 connections',
    metric: 'megabytesPerSecond',
    unit: 'MB/s',
    servers: ALL,
    load: { mode: 'echo', connections: 8, inFlight: 1, size: 64 * 1024, binary: true },
    target: { ratio: 1, text: '>= 1.0x ws' },
  },
  {
    id: 'large',
    title: '1 MiB binary, 1 connection',
    metric: 'megabytesPerSecond',
    unit: 'MB/s',
    servers: ALL,
    load: { mode: 'echo', connections: 1, inFlight: 1, size: 1024 * 1024, binary: true },
    target: { ratio: 1, text: '>= 1.0x ws' },
  },
  {
    id: 'handshakes',
    title: 'open + close, 2,000 connections, 32 at a time',
    metric: 'handshakesPerSecond',
    unit: 'handshakes/s',
    servers: WS_SERVERS,
    load: { mode: 'handshake', total: 2000, concurrency: 32 },
  },
  {
    id: 'idle',
    title: `server RSS per idle connection at ${IDLE_CONNECTIONS.toLocaleString('en-US')}`,
    metric: 'bytesPerConnection',
    unit: 'bytes',
    lowerIsBetter: true,
    servers: ALL,
    load: { mode: 'idle', connections: IDLE_CONNECTIONS },
    target: { bytes: 4500, text: '<= 4,500 bytes' },
  },
  {
    id: 'broadcast',
    title: 'a 64 B message to 10,000 clients (20 broadcasts per round)',
    metric: 'deliveredPerSecond',
    unit: 'msg/s',
    servers: WS_SERVERS,
    load: { mode: 'broadcast', connections: 10_000, rounds: 5, burst: 20 },
    server: { mode: 'broadcast' },
    target: { ratio: 3, text: '>= 3x ws' },
  },
  {
    id: 'deflate-small',
    title: 'permessage-deflate: 32 B text, 64 x 16 (every message compressed)',
    metric: 'messagesPerSecond',
    unit: 'msg/s',
    servers: ['socketeer', 'ws'],
    load: { mode: 'echo', connections: 64, inFlight: 16, size: 32, binary: false, deflate: true },
    server: { deflate: true },
    target: { ratio: 1, text: '>= 1.0x ws' },
  },
  {
    id: 'deflate-idle',
    title: `permessage-deflate: RSS per connection at ${IDLE_CONNECTIONS.toLocaleString('en-US')} after one 4 KiB message each`,
    metric: 'bytesPerConnection',
    unit: 'bytes',
    lowerIsBetter: true,
    servers: ['socketeer', 'ws'],
    load: { mode: 'idle', connections: IDLE_CONNECTIONS, deflate: true, touch: true },
    server: { deflate: true },
    target: { ratio: 0.5, text: '<= 0.5x ws' },
  },
];
