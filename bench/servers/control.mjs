// Shared by the Node servers under test: report the port, answer "rss" on stdin
// with the resident set size after a full GC (the runner starts them with --expose-gc).
import { createInterface } from 'node:readline';

export const MAX_PAYLOAD = 16 * 1024 * 1024;
export const BROADCAST_MESSAGE = Buffer.alloc(64, 0x62);
export const options = JSON.parse(process.argv[2] ?? '{}');

export function ready(port) {
  process.stdout.write(`${port}\n`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line !== 'rss') return;
    globalThis.gc?.();
    globalThis.gc?.();
    setTimeout(() => process.stdout.write(`${process.memoryUsage().rss}\n`), 200);
  });
}

// Exit normally on SIGINT so that `node --cpu-prof` writes its profile.
process.on('SIGINT', () => process.exit(0));
