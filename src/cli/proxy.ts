import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { ProxyOptions, RouteOptions } from '../proxy/config.js';
import { ReverseProxy } from '../proxy/proxy.js';
import {
  listenError,
  onShutdownSignal,
  parseCommand,
  readFlagFile,
  readTlsFlags,
  UsageError,
} from './args.js';

export const proxyHelp = `Usage: socketeer proxy --listen HOST:PORT --backend URL [--backend URL ...] [options]
       socketeer proxy --config FILE.json|FILE.yaml

A WebSocket-aware reverse proxy and load balancer: bad handshakes are answered
at the edge, clients are spread over the backends, X-Forwarded-* and Forwarded
are added, and plain HTTP requests are proxied too.

Options:
  --listen HOST:PORT   where clients connect (default 0.0.0.0:8080)
  --backend URL        a backend (ws://, wss://, http://, https://); repeat for more
  --balance ALG        round-robin (default), least-connections, hash-ip,
                       hash-header:NAME or hash-cookie:NAME (sticky sessions)
  --mode MODE          splice (default: bytes relayed) or inspect (frames followed)
  --health PATH        actively check each backend with GET PATH every 5 s
  --admin HOST:PORT    admin API: GET /status; POST /drain, /undrain, /add, /remove ?backend=URL
  --tls-cert FILE      terminate TLS: wss:// and https:// at the edge
  --tls-key FILE       PEM private key for --tls-cert
  --config FILE        a JSON or YAML file with every option (see the README); flags above are ignored
  -h, --help           show this help

SIGINT/SIGTERM close every client with 1001 (Going Away) and exit.
`;

function hostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new UsageError(`--${flag} must be HOST:PORT (e.g. 0.0.0.0:8080); got "${value}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}

function balanceFlag(value: string | undefined): RouteOptions['balance'] {
  if (value === undefined || value === 'round-robin' || value === 'least-connections') return value;
  if (value === 'hash-ip') return { hash: 'ip' };
  const [kind, name] = value.split(':');
  if ((kind === 'hash-header' || kind === 'hash-cookie') && name) {
    return { hash: kind === 'hash-header' ? 'header' : 'cookie', name };
  }
  throw new UsageError(
    `--balance must be round-robin, least-connections, hash-ip, hash-header:NAME or hash-cookie:NAME; got "${value}"`,
  );
}

async function loadConfig(file: string): Promise<ProxyOptions & { listen?: string; admin?: string }> {
  let config: ProxyOptions & { listen?: string; admin?: string };
  try {
    const text = readFileSync(file, 'utf8');
    // YAML only when asked for: the parser is loaded for .yaml/.yml files alone.
    config = /\.ya?ml$/i.test(file) ? (await import('yaml')).parse(text) : JSON.parse(text);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (typeof config !== 'object' || config === null)
    throw new UsageError(`${file}: the configuration must be an object`);
  // In a file, TLS material and CAs are paths.
  if (config.tls) {
    const paths = config.tls as { cert?: unknown; key?: unknown };
    config.tls = { cert: readFlagFile(String(paths.cert)), key: readFlagFile(String(paths.key)) };
  }
  for (const route of config.routes ?? []) {
    if (typeof route.backendTls?.ca === 'string') route.backendTls.ca = readFlagFile(route.backendTls.ca);
  }
  return config;
}

export async function runProxy(args: string[]): Promise<void> {
  const { values } = parseCommand('proxy', args, {
    listen: { type: 'string' },
    backend: { type: 'string', multiple: true },
    balance: { type: 'string' },
    mode: { type: 'string' },
    health: { type: 'string' },
    admin: { type: 'string' },
    config: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  });
  let options: ProxyOptions & { listen?: string; admin?: string };
  if (values.config !== undefined) {
    options = await loadConfig(values.config as string);
  } else {
    const backends = (values.backend as string[] | undefined) ?? [];
    if (backends.length === 0) throw new UsageError('give at least one --backend URL (or --config FILE)');
    const mode = values.mode as string | undefined;
    if (mode !== undefined && mode !== 'splice' && mode !== 'inspect') {
      throw new UsageError(`--mode must be splice or inspect; got "${mode}"`);
    }
    options = {
      listen: values.listen as string | undefined,
      admin: values.admin as string | undefined,
      tls: readTlsFlags(values),
      routes: [
        {
          backends,
          balance: balanceFlag(values.balance as string | undefined),
          mode: mode as RouteOptions['mode'],
        },
      ],
      healthCheck: values.health ? { type: 'http', path: values.health as string } : undefined,
    };
  }
  const { listen, admin, ...rest } = options;
  const edge = hostPort('listen', listen ?? '0.0.0.0:8080');
  let proxy: ReverseProxy;
  try {
    proxy = new ReverseProxy({ ...rest, port: edge.port, host: edge.host });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const address = await proxy.listen().catch((error: NodeJS.ErrnoException) => {
    throw listenError(error, edge.port);
  });
  let adminServer: http.Server | undefined;
  if (admin) {
    const where = hostPort('admin', admin);
    adminServer = http.createServer((req, res) => proxy.handleAdmin(req, res));
    await new Promise<void>((resolve, reject) => {
      adminServer!.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, where.port)));
      adminServer!.listen(where.port, where.host, resolve);
    });
  }
  const routes = proxy.stats().routes;
  process.stdout.write(
    `socketeer proxy: listening on ${rest.tls ? 'https' : 'http'}://${address.address}:${address.port} -> ` +
      `${routes.map((r) => `${r.path} (${r.algorithm}, ${r.mode}): ${r.backends.map((b) => b.url).join(', ')}`).join('; ')}` +
      `${adminServer ? `; admin on http://${admin}/status` : ''}\n`,
  );
  onShutdownSignal(async () => {
    adminServer?.close();
    await proxy.close();
  });
}
