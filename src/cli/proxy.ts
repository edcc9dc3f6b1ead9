import type * as http from 'node:http';
import type { ProxyLogEvent } from '../proxy/log.js';
import { formatLogEvent } from '../proxy/log.js';
import { ReverseProxy } from '../proxy/proxy.js';
import { listenError, onShutdownSignal, parseCommand, readTlsFlags, UsageError } from './args.js';
import { type CliProxyConfig, hostPort, isLoopback, loadProxyConfig } from './proxy-config.js';

export const proxyHelp = `Usage: socketeer proxy --listen HOST:PORT --backend URL [--backend URL ...] [options]
       socketeer proxy --config FILE.json|FILE.yaml [--log-format text|json]

A WebSocket-aware reverse proxy and load balancer: bad handshakes are answered
at the edge, clients are spread over the backends, X-Forwarded-* and Forwarded
are added, and plain HTTP requests are proxied too.

Options:
  --listen HOST:PORT   where clients connect (default 0.0.0.0:8080: every interface)
  --backend URL        a backend (ws://, wss://, http://, https://); repeat for more
  --balance ALG        round-robin (default), least-connections, hash-ip,
                       hash-header:NAME or hash-cookie:NAME (sticky sessions)
  --mode MODE          splice (default: bytes relayed) or inspect (frames followed)
  --health PATH        check each backend with GET PATH every 5 s (must answer 2xx/3xx)
  --health-ws PATH     check each backend with a WebSocket handshake on PATH (must get 101)
  --admin HOST:PORT    admin API: GET /status; POST /drain, /undrain, /add, /remove ?backend=URL
  --admin-token TOKEN  required as "Authorization: Bearer TOKEN" on the admin API (or set
                       SOCKETEER_ADMIN_TOKEN); needed unless --admin is a loopback address
  --tls-cert FILE      terminate TLS: wss:// and https:// at the edge
  --tls-key FILE       PEM private key for --tls-cert
  --config FILE        a JSON or YAML file with every option (see the README); only
                       --log-format may be given with it
  --log-format FMT     text (default) or json: one line per ejection, readmission,
                       503 and backend failure, on stderr
  -h, --help           show this help

Route paths match whole segments: /chat matches /chat and /chat/x, not /chatroom.
SIGINT/SIGTERM close every client with 1001 (Going Away) and exit.
`;

const FLAGS = {
  listen: { type: 'string' },
  backend: { type: 'string', multiple: true },
  balance: { type: 'string' },
  mode: { type: 'string' },
  health: { type: 'string' },
  'health-ws': { type: 'string' },
  admin: { type: 'string' },
  'admin-token': { type: 'string' },
  config: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

function balanceFlag(value: string | undefined) {
  if (value === undefined || value === 'round-robin' || value === 'least-connections') return value;
  if (value === 'hash-ip') return { hash: 'ip' } as const;
  const [kind, name] = value.split(':');
  if ((kind === 'hash-header' || kind === 'hash-cookie') && name) {
    return { hash: kind === 'hash-header' ? 'header' : 'cookie', name } as const;
  }
  throw new UsageError(
    `--balance must be round-robin, least-connections, hash-ip, hash-header:NAME or hash-cookie:NAME; got "${value}"`,
  );
}

/** The whole configuration from flags (everything is checked before anything listens). */
function fromFlags(values: Record<string, unknown>): CliProxyConfig {
  const backends = (values.backend as string[] | undefined) ?? [];
  if (backends.length === 0) throw new UsageError('give at least one --backend URL (or --config FILE)');
  const mode = values.mode as string | undefined;
  if (mode !== undefined && mode !== 'splice' && mode !== 'inspect') {
    throw new UsageError(`--mode must be splice or inspect; got "${mode}"`);
  }
  const health = values.health as string | undefined;
  const healthWs = values['health-ws'] as string | undefined;
  if (health !== undefined && healthWs !== undefined)
    throw new UsageError('give --health PATH (GET) or --health-ws PATH (WebSocket handshake), not both');
  const healthPath = health ?? healthWs;
  if (healthPath !== undefined && !healthPath.startsWith('/'))
    throw new UsageError(
      `--${health !== undefined ? 'health' : 'health-ws'} must be a path starting with "/"; got "${healthPath}"`,
    );
  return {
    edge: hostPort('listen', (values.listen as string | undefined) ?? '0.0.0.0:8080'),
    admin: values.admin === undefined ? undefined : hostPort('admin', values.admin as string),
    options: {
      tls: readTlsFlags(values),
      adminToken: values['admin-token'] as string | undefined,
      routes: [{ backends, balance: balanceFlag(values.balance as string | undefined), mode }],
      healthCheck:
        healthPath === undefined
          ? undefined
          : { type: healthWs !== undefined ? 'websocket' : 'http', path: healthPath },
    },
  };
}

function logWriter(format: string | undefined): (event: ProxyLogEvent) => void {
  if (format === 'json') {
    return (event) =>
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  }
  if (format === undefined || format === 'text') {
    return (event) =>
      process.stderr.write(`${new Date().toISOString()} socketeer proxy: ${formatLogEvent(event)}\n`);
  }
  throw new UsageError(`--log-format must be text or json; got "${format}"`);
}

export async function runProxy(args: string[]): Promise<void> {
  const { values } = parseCommand('proxy', args, FLAGS);
  const log = logWriter(values['log-format'] as string | undefined);
  let config: CliProxyConfig;
  if (values.config !== undefined) {
    // One source of truth: a flag next to --config would be either ignored or a
    // silent override of the file; both surprise, so it is refused.
    const extra = Object.keys(values).filter((flag) => flag !== 'config' && flag !== 'log-format');
    if (extra.length > 0) {
      throw new UsageError(
        `--config cannot be combined with ${extra.map((f) => `--${f}`).join(', ')}; put ${extra.length === 1 ? 'it' : 'them'} in the file`,
      );
    }
    config = await loadProxyConfig(values.config as string);
  } else {
    config = fromFlags(values);
  }
  config.options.adminToken ??= process.env.SOCKETEER_ADMIN_TOKEN || undefined;
  if (config.admin && !config.options.adminToken && !isLoopback(config.admin.host)) {
    throw new UsageError(
      `the admin API on ${config.admin.host} (not a loopback address) needs a token: --admin-token TOKEN or SOCKETEER_ADMIN_TOKEN`,
    );
  }
  let proxy: ReverseProxy;
  try {
    proxy = new ReverseProxy({ ...config.options, port: config.edge.port, host: config.edge.host });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  proxy.on('log', log);
  const address = await proxy.listen().catch(async (error: NodeJS.ErrnoException) => {
    await proxy.close();
    throw listenError(
      error,
      config.edge.port,
      values.config === undefined ? '--listen' : '"listen" in the file',
    );
  });
  let adminServer: http.Server | undefined;
  if (config.admin) {
    const where = config.admin;
    adminServer = proxy.createAdminServer();
    await new Promise<void>((resolve, reject) => {
      adminServer!.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          listenError(error, where.port, values.config === undefined ? '--admin' : '"admin" in the file'),
        ),
      );
      adminServer!.listen(where.port, where.host, resolve);
    }).catch(async (error) => {
      await proxy.close();
      throw error;
    });
    if (!config.options.adminToken) {
      process.stderr.write(
        'socketeer proxy: the admin API has no token: any local process can use it (set --admin-token or SOCKETEER_ADMIN_TOKEN)\n',
      );
    }
  }
  const routes = proxy.stats().routes;
  const adminAddress = adminServer?.address();
  process.stdout.write(
    `socketeer proxy: listening on ${config.options.tls ? 'https' : 'http'}://${address.address}:${address.port} -> ` +
      `${routes.map((r) => `${r.path} (${r.algorithm}, ${r.mode}): ${r.backends.map((b) => b.url).join(', ')}`).join('; ')}` +
      `${adminAddress && typeof adminAddress === 'object' ? `; admin on http://${config.admin!.host}:${adminAddress.port}/status` : ''}\n`,
  );
  onShutdownSignal(async () => {
    adminServer?.close();
    await proxy.close();
  });
}
