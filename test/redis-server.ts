import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { requireBinary } from './system.js';

/**
 * Real redis-server processes for tests (and bench:scale, which imports the
 * built copy): each on a free loopback port, without persistence
 * (`--save '' --appendonly no`), stopped on teardown. In CI a missing
 * redis-server is a failure (requireBinary).
 */

const run = promisify(execFile);
const INSTALL = 'apt-get install redis-server redis-tools';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The running process (changes after restart()). */
  readonly process: ChildProcess;
  /** redis-cli against this server; resolves with its output. */
  cli(...args: string[]): Promise<string>;
  /** Stops the process (SIGTERM, or the given signal) and waits for its exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port: its memory is gone (no persistence). */
  restart(): Promise<void>;
}

/** Where cleanup is registered: a TestContext, or `{ after }` from node:test for a whole file. */
export interface Teardown {
  after(fn: () => unknown): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether the tests can run redis-server here (skips the test outside CI when missing). */
export function haveRedis(t: TestContext): boolean {
  return (
    requireBinary(t, 'redis-server', INSTALL) !== null && requireBinary(t, 'redis-cli', INSTALL) !== null
  );
}

export interface RedisOptions {
  /** Runs redis-server through this command, e.g. ['taskset', '-c', '1'] (it must exec redis-server). */
  launcher?: readonly string[];
}

function spawnRedis(
  port: number,
  dir: string,
  extra: string[],
  launcher: readonly string[],
): Promise<ChildProcess> {
  // Own directory: a replica's full sync may still write an RDB file even without persistence.
  // No diskless-sync delay: replicas sync at once (the default waits 5 s for more replicas).
  const args = [
    '--dir',
    dir,
    '--repl-diskless-sync-delay',
    '0',
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--logfile',
    '',
    ...extra,
  ];
  const [command, ...argv] = [...launcher, 'redis-server', ...args];
  const child = spawn(command!, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.resume();
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`redis-server on ${port} exited (${code ?? signal}) before ready:\n${log}`)),
    );
  });
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/**
 * Starts redis-server on a free port; stopped when the test ends.
 * `args` are extra server arguments (e.g. ['--replicaof', '127.0.0.1', '6379']).
 */
export async function startRedis(
  t: Teardown,
  args: string[] = [],
  { launcher = [] }: RedisOptions = {},
): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'socketeer-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; !child; attempt++) {
    port = await freePort();
    try {
      child = await spawnRedis(port, dir, args, launcher);
    } catch (err) {
      // Another process may have taken the port between freePort() and bind: retry.
      if (attempt >= 3 || !String(err).includes('Address already in use')) throw err;
    }
  }
  let current: ChildProcess = child;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get process() {
      return current;
    },
    cli: async (...cliArgs) => (await run('redis-cli', ['-p', String(port), ...cliArgs])).stdout.trim(),
    stop: (signal = 'SIGTERM') => stopProcess(current, signal),
    async restart() {
      await stopProcess(current, 'SIGTERM');
      current = await spawnRedis(port, dir, args, launcher);
    },
  };
  t.after(async () => {
    await server.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

export interface RedisClusterServers {
  nodes: RedisServer[];
  /** Seed URLs for a cluster client. */
  urls: string[];
}

/**
 * Three masters (and `replicas` replicas of each): `redis-cli --cluster create`,
 * then waits for cluster_state:ok everywhere and, with replicas, for every
 * replica's link to its master (a replica that never synced cannot fail over).
 */
export async function startRedisCluster(
  t: Teardown,
  { replicas = 0 }: { replicas?: number } = {},
): Promise<RedisClusterServers> {
  const dir = mkdtempSync(join(tmpdir(), 'socketeer-redis-cluster-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nodes: RedisServer[] = [];
  for (let i = 0; i < 3 * (1 + replicas); i++) {
    nodes.push(
      await startRedis(t, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${i}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
      ]),
    );
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    String(replicas),
    '--cluster-yes',
  ]);
  // The cluster bus needs a moment to agree, replicas to sync: poll (bounded) until every node
  // says cluster_state:ok, knows every replica, and every replica's link to its master is up.
  const ready = async (node: RedisServer) => {
    const known = (await node.cli('CLUSTER', 'NODES')).match(/\bslave\b/g)?.length ?? 0;
    const info = await node.cli('INFO', 'replication');
    return (
      (await node.cli('CLUSTER', 'INFO')).includes('cluster_state:ok') &&
      known === 3 * replicas &&
      (!info.includes('role:slave') || info.includes('master_link_status:up'))
    );
  };
  for (const node of nodes) {
    for (let i = 0; !(await ready(node)); i++) {
      if (i > 400) throw new Error(`cluster node ${node.port} never got ready (state ok, replicas synced)`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { nodes, urls: nodes.map((n) => n.url) };
}
