import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Running, socketeer } from './child.js';

/**
 * README.md's "Messaging from a shell" block, line by line, against a real
 * `socketeer serve` (the hub a newcomer has): the commands as quoted, with
 * `ws://localhost:8000/connection` and `URL` pointed at this test's server.
 */
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### Messaging from a shell'));
const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
const lines = block.trim().split('\n');

/** Shell words of `text` (single quotes only: what the README uses). */
function words(text: string): string[] {
  return [...text.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The socketeer arguments of README line `index` (after `npx socketeer`), the comment dropped. */
function argsOf(index: number, hub: string, replace: Record<string, string> = {}): string[] {
  const line = lines[index]!;
  const command = line.slice(line.indexOf('npx socketeer ') + 'npx socketeer '.length).replace(/\s+#.*$/, '');
  return words(command).map((w) =>
    w === 'URL' || w === 'ws://localhost:8000/connection' ? hub : (replace[w] ?? w),
  );
}

async function toEnd(
  r: Running,
  input = '',
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  r.child.stdin!.end(input);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 20_000);
  const code = await r.exited;
  clearTimeout(timer);
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

describe("README's messaging shell lines against socketeer serve", () => {
  let serve: Running;
  let hub: string;
  before(async () => {
    serve = socketeer(['serve', '--port', '0', '--host', '127.0.0.1']);
    [, hub] = (await serve.waitFor(/messaging hub (ws:\/\/\S+\/connection)/)) as unknown as [string, string];
  });
  after(async () => {
    serve.child.kill('SIGINT');
    await serve.exited;
  });

  test('the block has the five quoted commands', () => {
    assert.equal(lines.length, 5, block);
    assert.match(lines[0]!, /^npx socketeer sub ws:\/\/localhost:8000\/connection /, "serve's default port");
  });

  test('sub, pub (argument and stdin lines), sub --since and presence work as the comments say', async () => {
    const sub = socketeer(argsOf(0, hub));
    try {
      const channels = argsOf(0, hub).slice(2);
      for (const channel of channels) await sub.waitFor(new RegExp(`${channel}: subscribed at`), 'stderr');

      const pub = await toEnd(socketeer(argsOf(2, hub)));
      assert.equal(pub.code, 0, pub.stderr);
      const ack = JSON.parse(pub.stdout) as { epoch: string; offset: number };
      assert.deepEqual(Object.keys(ack), ['epoch', 'offset']);
      const [, , lobby, data] = argsOf(2, hub);
      await sub.waitFor(new RegExp(`^${lobby} ${ack.offset} ${data!.replace(/[{}]/g, '\\$&')}$`, 'm'));

      const piped = lines[3]!;
      assert.match(piped, /^tail -f events\.log \| npx socketeer pub /);
      const fromStdin = await toEnd(socketeer(argsOf(3, hub)), 'first\nsecond\n');
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
      const acks = fromStdin.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).offset);
      assert.deepEqual(acks, [1, 2], 'one ack per line, in input order');
      const ops = argsOf(3, hub)[2]!;
      await sub.waitFor(new RegExp(`^${ops} 1 "first"\n${ops} 2 "second"$`, 'm'));

      // --since the position before the publication above: it is printed again, as JSON.
      const since = socketeer(argsOf(1, hub, { 'k3Jd9a:42': `${ack.epoch}:${ack.offset - 1}` }));
      try {
        const [line] = await since.waitFor(/^\{.*"type":"pub".*\}$/m);
        assert.deepEqual(JSON.parse(line).data, JSON.parse(data!));
        // presence sees both subscribers of demo:lobby: one line each, then the counts.
        const presence = await toEnd(socketeer(argsOf(4, hub)));
        assert.equal(presence.code, 0, presence.stderr);
        assert.match(presence.stdout, /\n2 connections, 1 user\n$/);
        assert.equal(presence.stdout.trim().split('\n').length, 3, presence.stdout);
      } finally {
        since.child.kill('SIGINT');
        assert.equal(await since.exited, 0);
      }
    } finally {
      sub.child.kill('SIGINT');
      assert.equal(await sub.exited, 0, sub.stderr());
    }
  });
});
