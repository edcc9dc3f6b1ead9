import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ProxyOptions } from '../proxy/config.js';
import { readFlagFile, UsageError } from './args.js';

/**
 * The proxy's configuration as the CLI reads it: from a JSON or YAML file, or
 * from flags (proxy.ts). Where the edge and the admin API listen, and the
 * options for ReverseProxy. In a file, TLS material and CAs are paths.
 */

export interface CliProxyConfig {
  edge: { host: string; port: number };
  admin: { host: string; port: number } | undefined;
  options: Omit<ProxyOptions, 'port' | 'host'>;
}

export function hostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new UsageError(`--${flag} must be HOST:PORT (e.g. 127.0.0.1:9090); got "${value}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

function pathOf(file: string, key: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new UsageError(
      `${file}: "${key}" must be the path of a PEM file; got ${JSON.stringify(value) ?? 'nothing'}`,
    );
  return value;
}

export async function loadProxyConfig(file: string): Promise<CliProxyConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const yaml = /\.ya?ml$/i.test(file);
  let config: Record<string, unknown>;
  try {
    // YAML only when asked for: the parser is loaded for .yaml/.yml files alone.
    config = yaml ? (await import('yaml')).parse(text) : JSON.parse(text);
  } catch (error) {
    const first = (error as Error).message.split('\n')[0];
    throw new UsageError(
      yaml
        ? `${file} is not valid YAML: ${first}`
        : `${file} is not valid JSON: ${first} (a file named .yaml or .yml is read as YAML)`,
    );
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new UsageError(`${file}: the configuration must be an object`);
  const { listen, admin, port, host, ...options } = config;
  if (listen !== undefined && (port !== undefined || host !== undefined))
    throw new UsageError(`${file}: give "listen" or "port"/"host", not both`);
  if (listen !== undefined && typeof listen !== 'string')
    throw new UsageError(`${file}: "listen" must be "HOST:PORT"; got ${JSON.stringify(listen)}`);
  if (port !== undefined && (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535))
    throw new UsageError(`${file}: "port" must be an integer from 0 to 65535; got ${JSON.stringify(port)}`);
  if (host !== undefined && (typeof host !== 'string' || host === ''))
    throw new UsageError(
      `${file}: "host" must be an address such as "127.0.0.1"; got ${JSON.stringify(host)}`,
    );
  if (admin !== undefined && typeof admin !== 'string')
    throw new UsageError(`${file}: "admin" must be "HOST:PORT"; got ${JSON.stringify(admin)}`);
  const edge =
    listen !== undefined
      ? hostPort('listen', listen as string)
      : { host: (host as string | undefined) ?? '0.0.0.0', port: (port as number | undefined) ?? 8080 };
  if (options.tls !== undefined) {
    const tls = options.tls as Record<string, unknown> | null;
    if (typeof tls !== 'object' || tls === null)
      throw new UsageError(`${file}: "tls" must be {"cert": PATH, "key": PATH}`);
    const certPath = pathOf(file, 'tls.cert', tls.cert);
    const keyPath = pathOf(file, 'tls.key', tls.key);
    options.tls = { cert: readFlagFile(certPath), key: readFlagFile(keyPath) };
  }
  const routes = Array.isArray(options.routes) ? (options.routes as Array<Record<string, unknown>>) : [];
  routes.forEach((route, i) => {
    const backendTls = route?.backendTls as Record<string, unknown> | undefined;
    if (typeof backendTls?.ca === 'string')
      backendTls.ca = readFlagFile(pathOf(file, `routes[${i}].backendTls.ca`, backendTls.ca));
  });
  return {
    edge,
    admin: admin === undefined ? undefined : hostPort('admin', admin as string),
    options: options as CliProxyConfig['options'],
  };
}
