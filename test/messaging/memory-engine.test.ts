import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryEngine } from '../../src/messaging/index.js';
import { runEngineContract } from './engine-contract.js';

runEngineContract('memory', () => new MemoryEngine({ sweepInterval: 20 }));

test('MemoryEngine: options are checked with what is allowed', () => {
  assert.throws(() => new MemoryEngine({ sweepInterval: 0 }), /"sweepInterval" must be an integer from 1/);
  assert.throws(
    () => new MemoryEngine({ sweep: 1 } as never),
    /unknown option "sweep"; allowed options are: sweepInterval, metaTtl/,
  );
});

/** Polls a condition the engine's sweep timer will make true; bounded so a regression fails, not hangs. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('MemoryEngine: channels that are only read are forgotten after emptyChannelTtl, not metaTtl', async () => {
  const engine = new MemoryEngine({ sweepInterval: 10, emptyChannelTtl: 50 });
  const events: string[] = [];
  await engine.start({
    publication: (channel) => events.push(channel),
    join() {},
    leave() {},
    resync() {},
    readiness() {},
  });
  try {
    await engine.subscribe('kept');
    const kept = await engine.history({ channel: 'kept', limit: 10 });
    const published = await engine.publish({
      channel: 'used',
      data: 1,
      history: { size: 10, ttlMs: 60_000 },
    });
    for (let i = 0; i < 1000; i++) await engine.history({ channel: `probe-${i}`, limit: 10 });
    assert.equal(engine.channelCount, 1002);
    // The 1,000 probes go; the subscribed empty channel and the one with a publication stay.
    await until(() => engine.channelCount === 2, 'read-only channels swept');
    const again = await engine.history({ channel: 'kept', limit: 10 });
    assert.equal(again.top.epoch, kept.top.epoch, 'a subscribed channel keeps its epoch');
    const used = await engine.history({ channel: 'used', limit: 10 });
    assert.deepEqual(used.top, { epoch: published.epoch, offset: 1 });
    // A channel read, then published to, keeps the epoch the reader saw.
    const read = await engine.history({ channel: 'fresh', limit: 1 });
    const first = await engine.publish({ channel: 'fresh', data: 1, history: { size: 10, ttlMs: 60_000 } });
    assert.equal(first.epoch, read.top.epoch);
  } finally {
    await engine.close();
  }
});
