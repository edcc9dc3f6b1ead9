import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { freePort, type RedisServer, startRedis } from '../redis-server.js';

/**
 * A whole deployment for the multi-process tests: one redis-server, N
 * `socketeer serve --redis` processes, and `socketeer proxy --balance
 * round-robin --health /readyz` in front. Every child is SIGKILLed on
 * teardown (t.after), so a failing test leaves no process behind.
 */

const BIN = new URL('../../../bin/socketeer.js', import.meta.url).pathname;

export interface ServeNode {
  readonly port: number;
  child: ChildProcess;
  /** SIGKILL, wait for the exit. */
  kill(): Promise<void>;
  /** Start it again on the same port (the proxy's backend list does not change). */
  restart(): Promise<void>;
}

export interface Cluster {
  redis: RedisServer;
  nodes: ServeNode[];
  /** ws://.../chat through the proxy. */
  chatUrl: string;
}

/** Spawn bin/socketeer.js and wait until it prints a line matching `ready`. */
async function spawnCli(t: TestContext, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) {
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.stdout!.resume(); // keep draining
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`socketeer ${args[0]} exited (${code}) before ready: ${out}${err}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  return child;
}

async function startNode(t: TestContext, redisUrl: string, history: number): Promise<ServeNode> {
  const port = await freePort();
  const args = ['serve', '--host', '127.0.0.1', '--port', String(port), '--redis', redisUrl];
  args.push('--history', String(history));
  const start = () => spawnCli(t, args, /WebSocket endpoint/);
  const node: ServeNode = {
    port,
    child: await start(),
    async kill() {
      if (node.child.exitCode === null && node.child.signalCode === null) {
        const exited = once(node.child, 'exit');
        node.child.kill('SIGKILL');
        await exited;
      }
    },
    async restart() {
      await node.kill();
      node.child = await start();
    },
  };
  return node;
}

export async function startCluster(
  t: TestContext,
  { nodes = 3, history = 1000 }: { nodes?: number; history?: number } = {},
): Promise<Cluster> {
  const redis = await startRedis(t);
  const serveNodes: ServeNode[] = [];
  for (let i = 0; i < nodes; i++) serveNodes.push(await startNode(t, redis.url, history));
  const proxyPort = await freePort();
  const args = ['proxy', '--listen', `127.0.0.1:${proxyPort}`, '--balance', 'round-robin'];
  args.push('--health', '/readyz');
  for (const n of serveNodes) args.push('--backend', `ws://127.0.0.1:${n.port}`);
  await spawnCli(t, args, /listening on/);
  return { redis, nodes: serveNodes, chatUrl: `ws://127.0.0.1:${proxyPort}/chat` };
}

export function assertDefined<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, what);
  return value;
}
