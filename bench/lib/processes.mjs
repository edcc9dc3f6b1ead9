// Starting the processes of a benchmark: pinned to a core, with enough file
// descriptors, their stdout read line by line.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

// 10k+ connections need more file descriptors than the usual soft limit of 1024.
const RAISE_FDS = 'ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"';

/** A function returning the stream's next line (lines that arrive early are queued). */
export function lineReader(stream) {
  const queue = [];
  const waiting = [];
  createInterface({ input: stream }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queue.push(line);
  });
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)));
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms))),
  ]);
}

/** The argv prefix that runs a command on `core` with enough file descriptors (it execs the command). */
export function pinnedLauncher(core) {
  return ['sh', '-c', RAISE_FDS, 'taskset', '-c', String(core)];
}

/** Run `command` (argv) on `core`; stdin and stdout are pipes, stderr is ours. */
export function startPinned(core, command) {
  const [sh, ...argv] = pinnedLauncher(core);
  const child = spawn(sh, [...argv, ...command], { stdio: ['pipe', 'pipe', 'inherit'] });
  return { child, next: lineReader(child.stdout) };
}
