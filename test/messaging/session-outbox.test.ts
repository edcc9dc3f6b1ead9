import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OutboundMessage, Outbox } from '../../src/messaging/session-outbox.js';

/**
 * A fan-out's socket writes are corked until the end of the tick
 * (sendPrepared), so they happen after the code that queued them returns.
 * The flusher must let them happen between its groups of outboxes: its time
 * slice then counts the write syscalls, and input is read again after a few
 * milliseconds of writing instead of after every queued connection's writes.
 */
test('the writes of one group of outboxes leave (end of tick) before the next group is written', async () => {
  const log: string[] = [];
  let tickEndQueued = false;
  const count = 200;
  const outboxes: Outbox[] = [];
  for (let i = 0; i < count; i++) {
    outboxes.push(
      new Outbox({
        writeNow: (message: OutboundMessage) => {
          log.push(`write ${String(message)}`);
          // Like corkUntilTickEnd: the first corked socket of a tick queues the uncork.
          if (!tickEndQueued) {
            tickEndQueued = true;
            process.nextTick(() => {
              tickEndQueued = false;
              log.push('tick end');
            });
          }
        },
        textAsPrepared: () => false,
      }),
    );
  }
  for (let i = 0; i < count; i++) outboxes[i]!.push(String(i));
  await Promise.all(outboxes.map((outbox) => outbox.flushed()));
  await new Promise((resolve) => setImmediate(resolve));

  const writes = log.filter((entry) => entry.startsWith('write'));
  assert.deepEqual(
    writes,
    outboxes.map((_, i) => `write ${i}`),
    'every outbox written once, in the order they got their message',
  );
  const firstTickEnd = log.indexOf('tick end');
  assert.ok(firstTickEnd > 0, 'the corked writes left');
  assert.ok(
    firstTickEnd < log.indexOf(`write ${count - 1}`),
    `the first group's writes leave before the last outbox is written (first tick end at ${firstTickEnd})`,
  );
  assert.equal(log.at(-1), 'tick end', 'the last group is followed by its tick end too');
});
