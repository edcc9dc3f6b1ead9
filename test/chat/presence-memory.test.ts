import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { freePort } from '../node/net-helpers.js';
import { ofType, type RawMember, rawMember } from './raw-member.js';

/**
 * Issue 11 item 7: 1,000 members join one room and never read. With the full
 * member list sent to everyone on every join this took `socketeer serve` to
 * 7 GB (O(N^2) bytes queued); with deltas it must stay bounded. The members
 * come from 20 loopback addresses, 50 each: the default per-address limit.
 */

const BIN = new URL('../../../bin/socketeer.js', import.meta.url).pathname;
const JOINERS = 1000;
const ADDRESSES = 20;
/** Generous for 1,000 connections (~10 KB each with their buffers); the old behaviour needed gigabytes. */
const BOUND_MB = 150;

/** CPU seconds (user + system) the process has used. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function memoryOf(pid: number): { rssMB: number; peakMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: kb('VmRSS') / 1024, peakMB: kb('VmHWM') / 1024 };
}

let server: ChildProcess | undefined;
const members: RawMember[] = [];
after(async () => {
  for (const m of members) m.close();
  if (server && server.exitCode === null) {
    // SIGKILL: a graceful close of 1,000 connections (tested elsewhere, with fewer) could spend
    // the rest of the file's 60 s limit on a loaded machine; nothing here asserts on it.
    server.kill('SIGKILL');
    await once(server, 'exit');
  }
});

// ~10 s of CPU (1,000 handshakes and ~500,000 presence pushes): a generous timeout for a loaded machine.
test(`${JOINERS} joiners that never read: serve's memory stays bounded`, { timeout: 240_000 }, async (t) => {
  const port = await freePort();
  server = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  server.stdout!.on('data', (d) => (out += d));
  while (!out.includes('socketeer chat: open')) {
    const [exit] = await Promise.race([
      once(server.stdout!, 'data'),
      once(server, 'exit').then(() => ['exit']),
    ]);
    assert.notEqual(exit, 'exit', 'serve exited before listening');
  }
  const observer = await rawMember(port, '127.0.2.1');
  members.push(observer);
  observer.send({ type: 'join', room: 'lobby', nick: 'observer' });
  await observer.next(ofType('welcome'), 'welcome');
  const before = memoryOf(server.pid!);

  for (let batch = 0; batch < JOINERS; batch += ADDRESSES) {
    const joined = await Promise.all(
      Array.from({ length: ADDRESSES }, (_, i) => rawMember(port, `127.0.1.${i + 1}`, { read: false })),
    );
    for (const [i, m] of joined.entries()) {
      assert.match(m.status, /^HTTP\/1\.1 101/, `joiner ${batch + i} admitted`);
      m.send({ type: 'join', room: 'lobby', nick: `member ${batch + i}` });
      members.push(m);
    }
  }
  // The observer reads: once it has seen every join, the server has sent every delta.
  let seen = 0;
  while (seen < JOINERS) {
    const p = await observer.next(ofType('presence'), `join ${seen + 1} of ${JOINERS}`);
    if (p.event === 'join') seen++;
  }
  const afterJoins = memoryOf(server.pid!);
  const growth = afterJoins.peakMB - before.rssMB;
  t.diagnostic(
    `serve RSS ${before.rssMB.toFixed(1)} MB -> ${afterJoins.rssMB.toFixed(1)} MB (peak ${afterJoins.peakMB.toFixed(1)} MB) with ${JOINERS} non-reading members; serve used ${cpuSeconds(server.pid!).toFixed(1)} s of CPU`,
  );
  assert.ok(growth < BOUND_MB, `peak grew by ${growth.toFixed(1)} MB (bound ${BOUND_MB} MB)`);
  // A 1,001st connection from one of those addresses is refused (per-address default 50).
  const over = await rawMember(port, '127.0.1.1');
  assert.match(over.status, /^HTTP\/1\.1 429/);
  over.close();
});
