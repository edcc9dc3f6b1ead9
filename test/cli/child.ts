import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/** The CLI's entry point, as `npx socketeer` runs it. */
export const BIN = new URL('../../../bin/socketeer.js', import.meta.url).pathname;

/** Colour and cursor sequences (ESC [ ... letter). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

/** A running child process whose stdout/stderr are collected as they arrive. */
export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /**
   * Resolve with the first match of `pattern` in stdout (terminal escape
   * sequences removed), waiting for output as it comes.
   */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<RegExpExecArray>;
  /** Resolve with the exit code (or the signal name) once the process ended and its output is read. */
  exited: Promise<number | string>;
}

export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out.stdout += d));
  child.stderr!.on('data', (d: string) => (out.stderr += d));
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  const running: Running = {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    async waitFor(pattern, stream = 'stdout') {
      const source = child[stream]!;
      const text = () => out[stream].replace(ANSI, '');
      for (;;) {
        const match = pattern.exec(text());
        if (match) return match;
        // Wait for more output, or fail with what was printed if the process ends first.
        const ended = await Promise.race([once(source, 'data').then(() => undefined), exited]);
        if (ended !== undefined && !pattern.test(text())) {
          throw new Error(
            `exited (${ended}) before ${stream} matched ${pattern}:\n${out.stdout}\n--- stderr:\n${out.stderr}`,
          );
        }
      }
    },
  };
  return running;
}

/** Run the CLI with `args`. */
export function socketeer(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  return run(process.execPath, [BIN, ...args], options);
}

/** Run the CLI to its end (killed after 20 s), with `input` on stdin. */
export async function socketeerToEnd(args: string[], input?: string) {
  const r = socketeer(args);
  if (input !== undefined) r.child.stdin!.end(input);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 20_000);
  const code = await r.exited;
  clearTimeout(timer);
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}
