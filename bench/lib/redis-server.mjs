// A throwaway redis-server for bench:scale: a free port, no persistence, pinned to a core.
import { createServer } from 'node:net';
import { startPinned } from './processes.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(core) {
  const port = await freePort();
  const { child, next } = startPinned(core, [
    'redis-server',
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxclients',
    '10000',
  ]);
  const exited = new Promise((r) => child.once('exit', r));
  // redis-server logs to stdout; ready once it accepts connections.
  for (;;) {
    const line = await Promise.race([next(), exited.then(() => null)]);
    if (line === null) throw new Error('redis-server exited during startup (is it installed?)');
    if (line.includes('Ready to accept connections')) break;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
