import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command was called right but cannot run (e.g. Redis unreachable at start): one line, exit code 1. */
export class StartupError extends Error {
  override name = 'StartupError';
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommand(command: string, args: string[], options: Options, positionals = 0) {
  try {
    const parsed = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
    if (parsed.positionals.length > positionals) {
      throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
    }
    return parsed;
  } catch (error) {
    if (error instanceof UsageError)
      throw new UsageError(`${error.message}; see "socketeer ${command} --help"`);
    const unknown = /^Unknown option '([^']+)'/.exec((error as Error).message);
    if (unknown) {
      // parseArgs' hint about positionals after '--' misleads for a mistyped flag: list what is allowed.
      throw new UsageError(
        `unknown option "${unknown[1]}"; ${command}'s options are ${describeOptions(options)}; see "socketeer ${command} --help"`,
      );
    }
    // parseArgs explains over several sentences; keep the first and, for values
    // that start with a dash, the hint on how to pass them.
    const lines = (error as Error).message.split('\n');
    let message = lines[0]!.replace(/\.$/, '');
    const dashHint = lines.find((l) => l.startsWith('To specify an option argument starting with a dash'));
    if (dashHint) message += `; ${dashHint.replace(/^To specify/, 'to pass').replace(/\.$/, '')}`;
    throw new UsageError(`${message}; see "socketeer ${command} --help"`);
  }
}

/** "--port, --host, -c/--connect, ...": every flag of a command, for an error message. */
function describeOptions(options: Options): string {
  return Object.entries(options)
    .map(([name, option]) => (option.short ? `-${option.short}/--${name}` : `--${name}`))
    .join(', ');
}

export function parsePort(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`--port must be a number from 0 to 65535; got "${value}"`);
  }
  return port;
}

/** Close the server on SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdownSignal(shutdown: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${signal}: closing connections (1001 Going Away)...\n`);
    shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** --tls-cert / --tls-key, read from disk; undefined when neither is given. */
export function readTlsFlags(values: Record<string, unknown>): { cert: Buffer; key: Buffer } | undefined {
  const certFile = values['tls-cert'] as string | undefined;
  const keyFile = values['tls-key'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  if (!certFile || !keyFile) return undefined;
  return { cert: readFlagFile(certFile), key: readFlagFile(keyFile) };
}

export function readFlagFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** `setting`: where the user picks the address (--port for serve and echo, --listen or --admin for proxy). */
export function listenError(error: NodeJS.ErrnoException, port: number, setting = '--port'): UsageError {
  if (error.code === 'EADDRINUSE')
    return new UsageError(`port ${port} is already in use; pick another with ${setting}`);
  if (error.code === 'EACCES')
    return new UsageError(`no permission to listen on port ${port}; pick one above 1023`);
  return new UsageError(error.message);
}

/**
 * A URL for a listening address that a client can use: the unspecified
 * addresses (0.0.0.0, ::) become localhost, and IPv6 literals get brackets.
 */
export function listeningUrl(scheme: string, address: AddressInfo | string | null): string {
  if (address === null || typeof address === 'string') return `${scheme}://${address ?? 'localhost'}`;
  const host =
    address.address === '::' || address.address === '0.0.0.0'
      ? 'localhost'
      : address.family === 'IPv6' || address.address.includes(':')
        ? `[${address.address}]`
        : address.address;
  return `${scheme}://${host}:${address.port}`;
}
